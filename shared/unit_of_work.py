"""The one place that commits: a change and the events it raises go in one transaction."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.orm import Session

from shared import audit_chain
from shared.contracts import Event
from shared.contracts.typed import TypedEvent
from shared.db import Database
from shared.idempotency import current_request
from shared.messaging.outbox import OutboxWriter


class UnitOfWork:
    """Inside ``with unit_of_work() as uow``: change models through ``uow.session``, then
    ``uow.publish(...)``; leaving the block commits both, an exception rolls both back."""

    def __init__(self, session: Session, outbox: OutboxWriter) -> None:
        self.session = session
        self._outbox = outbox
        self.published: list[Event] = []

    def publish(
        self,
        event: TypedEvent | str,
        *,
        subject: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Event:
        """Publish a typed event (``uow.publish(PlanApproved(...))``) or, for events without a
        typed constructor yet, a type with its subject and data."""
        if isinstance(event, TypedEvent):
            event_type, subject, data = event.TYPE, event.subject, event.data()
        else:
            event_type = event
        if subject is None or data is None:
            raise TypeError(f"{event_type}: publish needs a subject and data")
        built = self._outbox.build(event_type, subject=subject, data=data)
        self._outbox.write(self.session, built)
        self.published.append(built)
        return built


@contextmanager
def unit_of_work(
    database: Database,
    outbox: OutboxWriter,
    idempotency_keys: Table | None = None,
    *,
    connection: Connection | None = None,
) -> Iterator[UnitOfWork]:
    """With ``idempotency_keys``, a write request's ``Idempotency-Key`` is claimed (or its first
    response replayed) inside this transaction, so the claim lives exactly as long as the change.
    With ``connection``, the transaction runs on it instead of one from the pool."""
    session = database.session(connection)
    request = current_request.get() if idempotency_keys is not None else None
    claimed_here = False
    try:
        with session.begin():
            uow = UnitOfWork(session, outbox)
            if request is not None and request.claimed_in is None:
                request.claim(session, idempotency_keys, database)  # type: ignore[arg-type]
                claimed_here = request.claimed_in is not None
            yield uow
        if claimed_here:
            request.committed = True  # type: ignore[union-attr]
    except BaseException:
        if claimed_here:
            request.claimed_in = None  # type: ignore[union-attr]  # rolled back with the change
        raise
    finally:
        session.close()


class AuditedRead:
    """Inside ``with audited_read() as read``: query through ``read.session`` and record the read
    (``AUDIT.record``); nothing else is written."""

    def __init__(self, session: Session) -> None:
        self.session = session


@contextmanager
def audited_read(database: Database) -> Iterator[AuditedRead]:
    """A read whose one write is its audit row, in two round trips on PostgreSQL instead of
    five: the queries run in autocommit (no BEGIN, no COMMIT; at READ COMMITTED each statement
    had its own snapshot anyway) and the audit row is chained by the one statement that holds a
    lane, which commits on its own, synchronously, before the block is left. So, as in a unit of
    work, no answer leaves without its durable, chained audit row, and a read that fails (a 404
    of the access check) records none. If that statement cannot chain (every lane held) the row
    is chained in a transaction of its own. The session never flushes: an ORM change made in it
    is an error, not a write. SQLite: one transaction, as a unit of work."""
    if not database.is_postgresql:
        with database.session() as session, session.begin():
            yield AuditedRead(session)
        return
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        session = database.session(connection)
        session.autoflush = False
        try:
            yield AuditedRead(session)
            if session.new or session.dirty or session.deleted:
                raise RuntimeError("an audited read changed models: use a unit of work")
            left = audit_chain.chain_single_row_now(session)
        finally:
            session.info.pop(audit_chain.PENDING_KEY, None)
            session.close()
    if left:
        with database.session() as session, session.begin():
            audit_chain.chain_later(session, left)
