"""The inbox stays flat under load: handled event ids older than the retention go, and the window
never drops below the outbox's, so an outbox republish is still recognised as a duplicate."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from shared.service import PeriodicTask, ServiceRuntime
from shared.worker import (
    FIRST_RUN_AFTER_SECONDS,
    HOUSEKEEPING,
    remove_old_inbox_entries,
    run_periodic,
)
from tests.support.backends import Backend
from tests.support.platform import wait_until
from tests.support.services import RunningServices

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def services(backend: Backend, data_dir: Path) -> Iterator[RunningServices]:
    running = RunningServices(backend, data_dir, ["planning"])
    yield running
    running.shutdown()


def _handled(runtime: ServiceRuntime, days_ago: float) -> str:
    event_id = str(uuid.uuid4())
    inbox = runtime.spec.tables.inbox
    with runtime.database.session() as session, session.begin():
        session.execute(
            insert(inbox).values(
                event_id=event_id,
                event_type="intake.client.registered.v1",
                received_at=NOW - timedelta(days=days_ago),
            )
        )
    return event_id


def _kept(runtime: ServiceRuntime) -> set[str]:
    inbox = runtime.spec.tables.inbox
    with runtime.database.session() as session:
        return set(session.scalars(select(inbox.c.event_id)))


def test_handled_events_older_than_the_retention_are_removed(services: RunningServices) -> None:
    runtime = services["planning"]
    old = _handled(runtime, 31)
    recent = _handled(runtime, 29)
    assert remove_old_inbox_entries(runtime, now=NOW) == 1
    assert _kept(runtime) == {recent}
    assert old not in _kept(runtime)
    assert remove_old_inbox_entries(runtime, now=NOW) == 0  # nothing twice


def test_the_inbox_keeps_at_least_a_day_more_than_the_outbox(services: RunningServices) -> None:
    runtime = services["planning"]
    runtime.settings = dataclasses.replace(
        runtime.settings, inbox_retention_days=1, outbox_retention_days=7
    )
    within_outbox_window = _handled(runtime, 6)
    beyond = _handled(runtime, 9)
    remove_old_inbox_entries(runtime, now=NOW)
    assert _kept(runtime) == {within_outbox_window}
    inbox = runtime.spec.tables.inbox
    with runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(inbox)) == 1
    assert beyond not in _kept(runtime)


def test_every_worker_prunes_its_inbox() -> None:
    assert "inbox-expiry" in {task.name for task in HOUSEKEEPING}


def test_an_hourly_task_runs_soon_after_a_worker_starts_not_an_hour_later(
    services: RunningServices,
) -> None:
    """A worker restarted more often than hourly (deploys, scaling down) still runs its hourly
    tasks (retention, inbox expiry): the first run comes seconds after the start."""
    runs: list[float] = []
    hourly = PeriodicTask("hourly", 3600, lambda _runtime: runs.append(time.monotonic()))
    stop = threading.Event()
    started = time.monotonic()
    thread = threading.Thread(target=run_periodic, args=(services["planning"], hourly, stop))
    thread.start()
    try:
        assert wait_until(lambda: bool(runs), timeout=FIRST_RUN_AFTER_SECONDS + 10)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert len(runs) == 1 and runs[0] - started < FIRST_RUN_AFTER_SECONDS + 10
