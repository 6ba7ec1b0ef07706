"""LISTEN/NOTIFY wake-ups: a waiter wakes on a commit, never on a rollback, and takes the
wake-ups queued meanwhile together (one run for them all, not one empty run each)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.db import CommitSignal, Database, signal_on_commit
from tests.support.backends import Backend

CHANNEL = "casehub_test_wake"


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
