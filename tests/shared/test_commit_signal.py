"""LISTEN/NOTIFY wake-ups: a waiter wakes on a commit, never on a rollback, and takes the
wake-ups queued meanwhile together (one run for them all, not one empty run each); an outbox
write wakes the relay."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, make_url, select

from shared.contracts import REGISTRY
from shared.db import CommitNotifier, CommitSignal, Database, service_metadata, signal_on_commit
from shared.messaging.outbox import OutboxWriter, notification_channel
from shared.messaging.tables import messaging_tables
from tests.support.backends import Backend

CHANNEL = "casehub_test_wake"
DISCHARGED = "casehub.intake.client.discharged.v1"


@pytest.fixture
def database(backend: Backend, real_only: None, data_dir: Path) -> Iterator[Database]:
    database = Database(backend.new_database("signal", data_dir))
    yield database
    database.dispose()


def _commit_with_signal(database: Database, *, roll_back: bool = False) -> None:
    with database.session() as session:
        session.begin()
        signal_on_commit(session, CHANNEL)
        if roll_back:
            session.rollback()
        else:
            session.commit()


def test_commits_queued_while_the_waiter_was_busy_wake_it_once(database: Database) -> None:
    signal = CommitSignal(database, CHANNEL)
    try:
        assert signal.listening
        for _ in range(3):
            _commit_with_signal(database)
        time.sleep(0.5)  # the server passes the notifications on to the idle listener
        assert signal.wait(5) is True
        assert signal.wait(0.3) is False
    finally:
        signal.close()


def test_a_rolled_back_transaction_wakes_no_one(database: Database) -> None:
    signal = CommitSignal(database, CHANNEL)
    try:
        _commit_with_signal(database, roll_back=True)
        assert signal.wait(0.3) is False
        _commit_with_signal(database)
        assert signal.wait(5) is True
    finally:
        signal.close()


def _outbox_and_relay(database: Database) -> tuple[Any, OutboxWriter, CommitSignal, dict[str, Any]]:
    """An outbox whose writer wakes through a CommitNotifier, the relay's waiter, and an event."""
    metadata = service_metadata()
    tables = messaging_tables(metadata)
    metadata.create_all(database.engine)
    writer = OutboxWriter(
        "intake",
        tables.outbox,
        REGISTRY,
        notifier=CommitNotifier(database, notification_channel("intake")),
    )
    relay = CommitSignal(database, notification_channel("intake"))
    data = {
        "client_id": "c-1",
        "client_reference": "C-1042",
        "episode_id": "e-1",
        "discharged_at": datetime.now(UTC),
        "reason_code": "moved_away",
    }
    return tables, writer, relay, data


def test_an_event_written_to_the_outbox_wakes_the_relay_when_it_commits(
    database: Database,
) -> None:
    tables, writer, relay, data = _outbox_and_relay(database)
    try:
        for commit in (False, True):
            with database.session() as session:
                session.begin()
                writer.write(session, writer.build(DISCHARGED, subject="client/c-1", data=data))
                if commit:
                    session.commit()
                else:
                    session.rollback()
            assert relay.wait(5 if commit else 0.3) is commit
    finally:
        relay.close()
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(tables.outbox)) == 1


def test_a_wake_up_never_holds_up_the_commit_that_asked_for_it() -> None:
    """The notifier works beside the request: a database that cannot be reached costs the
    waiters one poll interval, never the committing request a wait or an error."""
    unreachable = Database("postgresql://nobody@127.0.0.1:1/none")
    notifier = CommitNotifier(unreachable, CHANNEL)
    started = time.monotonic()
    for _ in range(100):
        notifier.notify()
    assert time.monotonic() - started < 0.5
    unreachable.dispose()


def test_events_written_before_a_rolled_back_savepoint_still_wake_the_relay(
    database: Database,
) -> None:
    """A consumer batch falls back to one event at a time, each in a savepoint: a failing one
    must not silence the wake-up for those that committed with the batch."""
    _tables, writer, relay, data = _outbox_and_relay(database)
    try:
        with database.session() as session:
            session.begin()
            writer.write(session, writer.build(DISCHARGED, subject="client/c-1", data=data))
            savepoint = session.begin_nested()
            savepoint.rollback()
            session.commit()
        assert relay.wait(5) is True
    finally:
        relay.close()


def test_a_burst_of_commits_sends_one_wake_up_at_once_and_at_most_one_more(
    database: Database,
) -> None:
    """The first commit after a quiet spell wakes the relay at once; the commits that follow
    within the interval share one wake-up sent when it ends, not one each."""
    libpq_url = make_url(database.url).set(drivername="postgresql")
    listener = psycopg.connect(libpq_url.render_as_string(hide_password=False), autocommit=True)
    try:
        listener.execute(f'LISTEN "{CHANNEL}"')
        notifier = CommitNotifier(database, CHANNEL, min_interval=1.0)

        def commit_every_50_ms() -> None:  # one wake-up each without the interval
            for _ in range(10):
                notifier.notify()
                time.sleep(0.05)

        started = time.monotonic()
        committing = threading.Thread(target=commit_every_50_ms)
        committing.start()
        arrivals = [
            time.monotonic() - started for _ in listener.notifies(timeout=3.0, stop_after=3)
        ]
        committing.join()
    finally:
        listener.close()
    assert 1 <= len(arrivals) <= 2, arrivals
    assert arrivals[0] < 0.5  # at once, not held back for the interval
    if len(arrivals) == 2:
        assert arrivals[1] - arrivals[0] >= 0.9  # the burst's rest waited for the interval
