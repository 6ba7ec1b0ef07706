"""One service's PostgreSQL restarted: that service answers 503 problem+json while it is down,
recovers without a restart, loses no event that arrived meanwhile; the others keep working."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.conftest import (
    Workload,
    hire_case_managers,
    inbox_ids,
    outbox_ids_for,
    plans_per_client,
    unpublished,
)
from tests.support.backends import Backend
from tests.support.platform import wait_until
from tests.support.private_servers import PrivatePostgres
from tests.support.processes import ProcessPlatform

CM = ("cm-0", "case_manager")


@pytest.fixture
def platform(
    backend: Backend, real_only: None, data_dir: Path, private_postgres: PrivatePostgres
) -> Iterator[ProcessPlatform]:
    databases = {
        "intake": backend.new_database("intake", data_dir),
        "planning": private_postgres.new_database("planning"),
    }
    running = ProcessPlatform(backend.broker_url, databases, data_dir)
    running.start()
    yield running
    running.stop()


def _consumed(platform: ProcessPlatform) -> bool:
    return unpublished(platform, "intake") == 0 and inbox_ids(
        platform, "planning"
    ) == outbox_ids_for(platform, "planning")


@pytest.mark.slow
def test_planning_database_restart_is_503_meanwhile_and_recovers_without_restart(
    platform: ProcessPlatform, private_postgres: PrivatePostgres
) -> None:
    hire_case_managers(platform)
    before = Workload(platform)
    before.run(0, 10)
    assert wait_until(lambda: _consumed(platform), timeout=60)
    api_process, [worker_process] = platform.apis["planning"], platform.workers["planning"]

    private_postgres.stop()
    down = platform.call("planning", "GET", "/plans", CM)
    assert down.status_code == 503
    assert down.headers["Content-Type"].startswith("application/problem+json")
    assert down.json()["status"] == 503 and "Traceback" not in down.text
    assert not platform.ready("planning")

    during = Workload(platform)  # intake keeps working; planning's events wait for it
    during.run(0, 20)
    assert during.server_errors == 0 and set(during.statuses) == {201}, during.statuses
    assert platform.ready("intake")
    assert wait_until(lambda: unpublished(platform, "intake") == 0, timeout=30)
    time.sleep(3)  # the events reach planning's worker while its database is away

    private_postgres.start()
    assert wait_until(lambda: platform.ready("planning"), timeout=30)
    assert platform.call("planning", "GET", "/plans", CM).status_code == 200
    assert wait_until(lambda: _consumed(platform), timeout=60, interval=0.5)
    plans = plans_per_client(platform)
    assert set(plans) == {*before.client_ids, *during.client_ids}
    assert set(plans.values()) == {1}
    assert api_process.poll() is None and worker_process.poll() is None  # never restarted
    listed = platform.casehub("dlq", "list", "planning")
    assert listed.returncode == 0 and "0 dead-lettered event(s)" in listed.stdout, listed
