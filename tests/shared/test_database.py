"""A service's database handle is made lazily, once per process, by whichever request comes
first: concurrent first requests must all get a working session (before, one that found the
engine published before its session factory failed with a 500)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import NullPool

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


def test_a_pooled_connection_the_server_closed_is_replaced_without_an_error(
    backend: Any, real_only: None, data_dir: Path
) -> None:
    """The pool does not ping every checkout: a connection the server closed while it sat idle
    (as at a database restart) is found at checkout and the pool refilled, so the next request
    works; a healthy pooled connection is handed out as it is, with no round trip."""
    database = Database(backend.new_database("pool", data_dir))
    statements: list[str] = []
    with database.read_session() as session:
        first_backend = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    event.listen(database.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    pings: list[int] = []
    real_ping = database.engine.dialect.do_ping

    def counted_ping(connection: Any) -> bool:
        pings.append(1)
        return real_ping(connection)

    database.engine.dialect.do_ping = counted_ping  # type: ignore[method-assign]
    with database.read_session() as session:
        assert session.execute(text("SELECT pg_backend_pid()")).scalar_one() == first_backend
    assert pings == [] and len(statements) == 1  # healthy: handed out as it is

    other = create_engine(database.url, poolclass=NullPool)  # not a connection of the pool
    with other.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first_backend})
    other.dispose()
    time.sleep(0.2)  # the server's FATAL message and close reach the pooled socket
    with database.read_session() as session:
        after = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    assert after != first_backend and pings == [1]
    database.dispose()
