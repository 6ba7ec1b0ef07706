"""The one place that commits: a change and the events it raises go in one transaction."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from shared.contracts import Event
from shared.db import Database
from shared.messaging.outbox import WAKE_KEY, OutboxWriter


class UnitOfWork:
    """Inside ``with unit_of_work() as uow``: change models through ``uow.session``, then
    ``uow.publish(...)``; leaving the block commits both, an exception rolls both back."""

    def __init__(self, session: Session, outbox: OutboxWriter) -> None:
        self.session = session
        self._outbox = outbox
        self.published: list[Event] = []

    def publish(self, event_type: str, *, subject: str, data: Mapping[str, Any]) -> Event:
        event = self._outbox.build(event_type, subject=subject, data=data)
        self._outbox.write(self.session, event)
        self.published.append(event)
        return event


@contextmanager
def unit_of_work(
    database: Database, outbox: OutboxWriter, connection: Connection | None = None
) -> Iterator[UnitOfWork]:
    session = database.session(connection)
    try:
        with session.begin():
            uow = UnitOfWork(session, outbox)
            yield uow
        if session.info.pop(WAKE_KEY, False):
            outbox.after_commit()
    finally:
        session.close()
