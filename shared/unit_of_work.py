"""The one place that commits: a change and the events it raises go in one transaction."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.orm import Session

from shared.contracts import Event
from shared.contracts.typed import TypedEvent
from shared.db import Database
from shared.idempotency import current_request
from shared.messaging.outbox import WAKE_KEY, OutboxWriter


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
        if session.info.pop(WAKE_KEY, False):
            outbox.after_commit()
    except BaseException:
        if claimed_here:
            request.claimed_in = None  # type: ignore[union-attr]  # rolled back with the change
        raise
    finally:
        session.close()
