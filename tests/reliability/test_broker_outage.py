"""RabbitMQ stopped for ten seconds while 1,000 API writes arrive: every write succeeds, and once
the broker is back every event is consumed with exactly one effect downstream."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.reliability.conftest import (
    Workload,
    database_url,
    hire_case_managers,
    inbox_ids,
    outbox_ids_for,
    plans_per_client,
    query,
    unpublished,
)
from tests.support.backends import Backend
from tests.support.platform import wait_until
from tests.support.private_servers import PrivateRabbitMQ
from tests.support.processes import ProcessPlatform

SERVICES = ["intake", "planning", "notifications"]
REGISTERED_ONLY, ASSESSED = 100, 300  # 100 + 300 * 3 = 1,000 writes
OUTAGE_SECONDS = 10.0


@pytest.fixture
def platform(
    backend: Backend, real_only: None, data_dir: Path, private_rabbitmq: PrivateRabbitMQ
) -> Iterator[ProcessPlatform]:
    databases = {name: backend.new_database(name, data_dir) for name in SERVICES}
    running = ProcessPlatform(private_rabbitmq.url, databases, data_dir)
    running.start()
    yield running
    running.stop()


@pytest.mark.slow
def test_broker_stopped_for_ten_seconds_under_1000_writes_loses_and_repeats_nothing(
    platform: ProcessPlatform,
    private_rabbitmq: PrivateRabbitMQ,
    record_property: Callable[[str, object], None],
) -> None:
    hire_case_managers(platform)
    load = Workload(platform)
    writer = threading.Thread(target=load.run, args=(REGISTERED_ONLY, ASSESSED))
    writer.start()
    assert wait_until(lambda: load.done >= 150, timeout=60)

    private_rabbitmq.stop_app()
    stopped_at, written_before = time.monotonic(), load.done
    # readiness tells, and the API stays in service: the outbox holds the writes
    assert wait_until(lambda: platform.readiness_detail("intake") == ["broker"], timeout=10)
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped_at)))
    written_during = load.done - written_before
    waiting = unpublished(platform, "intake")
    private_rabbitmq.start_app()
    restarted_at = time.monotonic()
    writer.join(timeout=120)

    assert load.done == 1_000
    assert load.server_errors == 0, load.statuses
    assert set(load.statuses) <= {200, 201}, load.statuses
    assert written_during > 0 and waiting > 0  # the outage really overlapped the writes

    def all_consumed() -> bool:
        return unpublished(platform, "intake") == 0 and all(
            inbox_ids(platform, consumer) == outbox_ids_for(platform, consumer)
            for consumer in ("planning", "notifications")
        )

    assert wait_until(all_consumed, timeout=120, interval=0.5)
    drained_in = time.monotonic() - restarted_at
    plans = plans_per_client(platform)
    assert set(plans) == set(load.client_ids) and set(plans.values()) == {1}
    [(cared_for,)] = query(
        database_url(platform, "notifications"), "SELECT count(DISTINCT client_id) FROM client_care"
    )
    assert cared_for == ASSESSED
    sent = len(outbox_ids_for(platform, "planning") | outbox_ids_for(platform, "notifications"))
    record_property(
        "faults",
        f"broker outage: {load.done} writes ({written_during} during the outage), "
        f"{load.server_errors} 5xx, {waiting} events waiting in the outbox, {sent} events "
        f"delivered to subscribers, {len(plans)} plans (duplicates 0), drained {drained_in:.1f}s "
        "after the broker returned",
    )
