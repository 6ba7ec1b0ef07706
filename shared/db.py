"""One database per service: engine and sessions from its URL, PostgreSQL (psycopg 3) or SQLite."""

from __future__ import annotations

import contextlib
import math
import os
import select
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import psycopg.sql
from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    Connection,
    DateTime,
    Dialect,
    Engine,
    MetaData,
    Table,
    TypeDecorator,
    any_,
    create_engine,
    event,
    literal,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.orm import Session, sessionmaker

from shared.logging import get_logger
from shared.tracing import instrument_engine


def normalise_database_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and always drive them with psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _configure_sqlite(engine: Engine) -> None:
    """WAL for concurrent readers, foreign keys on, and BEGIN IMMEDIATE so writers queue politely.

    pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; SQLAlchemy's
    documented recipe takes it over.
    """

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_database_engine(url: str) -> Engine:
    """An engine whose errors and SQL logging never show bound values: they are client data."""
    url = normalise_database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            hide_parameters=True,
            connect_args={"timeout": 30, "check_same_thread": False},
        )
        _configure_sqlite(engine)
        instrument_engine(engine)
        return engine
    pool_size, max_overflow = pool_limits()
    engine = create_engine(
        url,
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=10,
        pool_recycle=pool_recycle_seconds(),
        connect_args={"connect_timeout": 5},
    )
    _drop_closed_connections_on_checkout(engine)
    instrument_engine(engine)
    return engine


def _server_has_spoken(dbapi_connection: Any) -> bool:
    """Whether an idle connection's socket has something to read: between requests the server
    says nothing unless it is closing the connection (a restart or shutdown sends a FATAL error
    and closes the socket). A local ``poll``, no round trip."""
    try:
        descriptor = dbapi_connection.fileno()
    except Exception:  # a closed connection has no socket: as good as spoken
        return True
    poller = select.poll()
    poller.register(descriptor, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


def _drop_closed_connections_on_checkout(engine: Engine) -> None:
    """Instead of ``pool_pre_ping`` (a ``SELECT 1`` round trip on every checkout, i.e. every
    request): a connection whose server has spoken while it sat in the pool is pinged, and if it
    does not answer, every connection pooled before now is dropped and a fresh one is opened
    (``InvalidatePoolError``). So after a database restart no request meets a dead pooled
    connection; only requests in flight at the restart fail, with a 503 problem, and their
    disconnect error invalidates the pool too (SQLAlchemy's own handling)."""

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection, _record, _proxy) -> None:  # type: ignore[no-untyped-def]
        if not _server_has_spoken(dbapi_connection):
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
            dbapi_connection.rollback()  # the ping's transaction; nothing else ran on it
        except Exception as error:  # any failure: the connection is gone
            raise InvalidatePoolError("the database closed this pooled connection") from error


def pool_recycle_seconds(env: Mapping[str, str] | None = None) -> int:
    """Pooled connections older than this are replaced at checkout (``CASEHUB_DB_POOL_RECYCLE``,
    default 1800 s): a firewall or pooler that drops idle connections without a word would
    otherwise leave the pool holding sockets that hang on their next statement."""
    env = os.environ if env is None else env
    return int(env.get("CASEHUB_DB_POOL_RECYCLE", "1800"))


def pool_limits(env: Mapping[str, str] | None = None) -> tuple[int, int]:
    """Connections one process keeps (``CASEHUB_DB_POOL_SIZE``, default 10) and may open beyond
    them under load (``CASEHUB_DB_MAX_OVERFLOW``, default 10). Every gunicorn worker and every
    worker process has its own pool: replicas * processes * (size + overflow) must stay below
    PostgreSQL's ``max_connections`` or PgBouncer's pool (docs/operations.md)."""
    env = os.environ if env is None else env
    return int(env.get("CASEHUB_DB_POOL_SIZE", "10")), int(env.get("CASEHUB_DB_MAX_OVERFLOW", "10"))


class Database:
    """A service's database: the engine is created lazily in each process, so forks never share sockets."""

    def __init__(self, url: str) -> None:
        self.url = normalise_database_url(url)
        self._dialect = make_url(self.url).get_backend_name()  # asked on every request
        self._engine: Engine | None = None
        self._engine_pid: int | None = None
        self._sessions: sessionmaker[Session] | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        if self._engine is None or self._engine_pid != os.getpid():
            with self._lock:
                if self._engine is not None and self._engine_pid != os.getpid():
                    self._engine.dispose(close=False)
                    self._engine = None
                if self._engine is None:
                    # The engine is published last: a thread that finds it without taking the
                    # lock must also find its session factory (concurrent first requests 500ed).
                    engine = create_database_engine(self.url)
                    self._sessions = sessionmaker(engine, expire_on_commit=False)
                    self._engine_pid = os.getpid()
                    self._engine = engine
        return self._engine

    @property
    def dialect(self) -> str:
        return self._dialect

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    def session(self, connection: Connection | None = None) -> Session:
        """A session on a connection from the pool, or on ``connection`` when one is given."""
        self.engine  # noqa: B018 - creates the session factory for this process
        assert self._sessions is not None
        return self._sessions() if connection is None else self._sessions(bind=connection)

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for queries only; writes go through a unit of work."""
        session = self.session()
        try:
            yield session
        finally:
            session.close()  # ends the transaction; loaded objects stay readable

    def ping(self) -> None:
        """Raise if the database cannot answer a trivial query (readiness)."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            connection.rollback()

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def _libpq_url(database: Database) -> str:
    return make_url(database.url).set(drivername="postgresql").render_as_string(hide_password=False)


class CommitNotifier:
    """Wakes a channel's ``CommitSignal`` waiters after a commit, from outside the committing
    transaction. A transaction that sends NOTIFY holds one cluster-wide lock from its commit
    until its WAL is flushed, so API commits that carried the relay's wake-up queued one behind
    the other (8 connections: about 1,000 commits/s with it, 3,000 without). Here one thread of
    the process sends the wake-up, on a connection borrowed from the pool for one round trip, in
    a transaction that does not wait for the flush (a wake-up lost in a crash costs one poll
    interval: the waiter polls anyway), and a burst of commits sends one wake-up.

    At most one wake-up every ``min_interval`` seconds: the first commit after a quiet spell is
    sent at once; commits that follow within the interval share one sent when it ends, so an
    event waits at most ``min_interval`` longer. Without it a process under write load sent one
    wake-up per commit, and each (a pooled connection, a transaction, the relay woken again)
    cost as much CPU as a third of the registration that asked for it."""

    def __init__(self, database: Database, channel: str, *, min_interval: float = 0.02) -> None:
        self._database = database
        self._min_interval = min_interval
        self._last_sent = -math.inf
        self._statement = psycopg.sql.SQL(
            "BEGIN; SET LOCAL synchronous_commit TO off; SELECT pg_notify({}, ''); COMMIT"
        ).format(psycopg.sql.Literal(channel))
        self._lock = threading.Lock()
        self._pending = threading.Event()
        self._pid: int | None = None

    def notify(self) -> None:
        """Ask for a wake-up (returns at once)."""
        if self._pid != os.getpid():  # first use, or a forked child: the thread did not follow
            with self._lock:
                if self._pid != os.getpid():
                    self._pending = threading.Event()
                    threading.Thread(
                        target=self._send_wake_ups,
                        args=(self._pending,),
                        name="casehub-commit-notifier",
                        daemon=True,
                    ).start()
                    self._pid = os.getpid()
        self._pending.set()

    def _send_wake_ups(self, pending: threading.Event) -> None:
        failing = False
        while True:
            pending.wait()
            wait = self._last_sent + self._min_interval - time.monotonic()
            if wait > 0:  # commits until then ride on this one wake-up
                time.sleep(wait)
            pending.clear()
            self._last_sent = time.monotonic()
            try:
                pooled = self._database.engine.raw_connection()
                try:
                    driver = pooled.driver_connection
                    driver.autocommit = True  # the statement carries its own BEGIN and COMMIT
                    try:
                        driver.execute(self._statement)
                    finally:
                        driver.autocommit = False
                finally:
                    pooled.close()  # back to the pool
                failing = False
            except Exception as error:  # the database is away or the pool exhausted: waiters poll
                if not failing:  # once a streak: the relay's polling covers it meanwhile
                    get_logger(__name__).warning(
                        "commit_notifier.failed", error=type(error).__name__
                    )
                failing = True
                time.sleep(0.5)


class CommitSignal:
    """PostgreSQL LISTEN/NOTIFY: a transaction that ran ``signal_on_commit`` wakes this waiter
    the moment it commits (a rolled-back one never does). Elsewhere ``wait`` just sleeps, so the
    waiting loop falls back to polling."""

    def __init__(self, database: Database, channel: str) -> None:
        self._listener: psycopg.Connection[Any] | None = None
        if database.is_postgresql:
            try:
                self._listener = psycopg.connect(
                    _libpq_url(database), autocommit=True, connect_timeout=5
                )
                self._listener.execute(f'LISTEN "{channel}"')
            except psycopg.Error:
                self.close()

    @property
    def listening(self) -> bool:
        return self._listener is not None

    def wait(self, timeout: float) -> bool:
        """True if woken by a commit, False after ``timeout``."""
        if self._listener is None:
            time.sleep(timeout)
            return False
        try:
            for _ in self._listener.notifies(timeout=timeout, stop_after=1):
                return True
        except psycopg.Error:
            self.close()
            time.sleep(timeout)
        return False

    def close(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(psycopg.Error):
                self._listener.close()
        self._listener = None


def one_of(column: Column[Any], values: Iterable[Any], *, postgresql: bool) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``column = ANY(:array)``, one parameter however many
    values: a relay batch's IN list of 500 ids was rendered, and parsed by psycopg, each time."""
    if not postgresql:
        return column.in_(list(values))
    return column == any_(literal(list(values), ARRAY(column.type)))


def insert_ignoring_duplicates(
    session: Session, table: Table, rows: list[dict[str, Any]], key: Column[Any]
) -> set[Any]:
    """Insert the rows whose unique key is not there yet; return the keys that were new.

    ``ON CONFLICT DO NOTHING`` on both back ends: no savepoint, and on PostgreSQL a row another
    transaction is inserting is waited for, then counted as existing if that one commits."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    # Parameters as a list (executemany): the statement compiles once and is cached, where a
    # multi-row VALUES was compiled anew for every batch (the pipeline profile showed it).
    statement = dialect_insert(table).on_conflict_do_nothing().returning(key)
    return set(session.execute(statement, rows).scalars())


def signal_on_commit(session: Session, channel: str) -> None:
    """Wake the ``CommitSignal`` waiters of ``channel`` when this session's transaction commits.

    The NOTIFY rides in the transaction, so PostgreSQL delivers it with the commit itself: no
    thread, no second connection that a busy pool or a failing database could deny. That is what
    the crisis path wants (an alert's delivery wakes the dispatcher at once), and notifications
    commits too rarely for the notify lock held through the commit's WAL flush to queue anyone;
    the outbox's wake-up, sent on every API write, goes through a ``CommitNotifier`` instead."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata() -> MetaData:
    """Metadata with constraint names Alembic can rely on, the same on PostgreSQL and SQLite."""
    return MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps stored with their zone and always read back as UTC-aware, on SQLite too
    (which keeps no zone), so APIs and events never mix naive and aware times."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: give timestamps a time zone (UTC)")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_id() -> str:
    """Primary keys are UUIDs: created anywhere, unguessable, safe to put in events."""
    return str(uuid.uuid4())


def utc_now() -> datetime:
    return datetime.now(UTC)


#: How every service maps Python annotations of its models to column types.
TYPE_ANNOTATIONS: dict[Any, Any] = {datetime: UtcDateTime(), dict[str, Any]: JSON, list[str]: JSON}
