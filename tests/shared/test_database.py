"""A service's database handle is made lazily, once per process, by whichever request comes
first: concurrent first requests must all get a working session (before, one that found the
engine published before its session factory failed with a 500)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from shared import db
from shared.db import Database


def test_concurrent_first_sessions_all_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'first.db'}")
    making_sessions = threading.Event()
    others_asked = threading.Event()
    real_sessionmaker = db.sessionmaker

    def slow_sessionmaker(*args: Any, **kwargs: Any) -> Any:
        """The real factory, made while the other requests arrive."""
        making_sessions.set()
        others_asked.wait(timeout=10)
        return real_sessionmaker(*args, **kwargs)

    monkeypatch.setattr(db, "sessionmaker", slow_sessionmaker)

    def query(_: int) -> int:
        with database.read_session() as session:
            return int(session.execute(text("SELECT 1")).scalar_one())

    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(query, 0)
        assert making_sessions.wait(timeout=10)
        others = [pool.submit(query, number) for number in range(1, 4)]
        threading.Timer(0.5, others_asked.set).start()
        assert first.result(timeout=30) == 1
        assert [other.result(timeout=30) for other in others] == [1, 1, 1]
    database.dispose()
