"""Throwing the read model away and replaying the archive into it with the same projectors.

One transaction: the archive is locked against new rows (PostgreSQL; SQLite has one writer
anyway), the read model emptied, every archived event projected in archive order, then commit.
A live consumer's transaction waits on the lock and projects its events after the commit, so
nothing is missed and nothing counted twice; readers see the old figures until the commit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from services.reporting.models import READ_MODEL, ArchivedEvent
from services.reporting.operations.projection import REBUILT_KEYS, project
from shared.contracts import Event
from shared.db import Database

#: Events projected between flushes; the session is emptied after each to bound memory.
CHUNK = 2000


@dataclass(frozen=True)
class RebuildResult:
    events: int
    projected: int


def replay(
    session: Session,
    envelopes: Iterable[str],
    projector: Callable[[Session, Event], None] = project,
) -> int:
    """Project archived envelopes in order; how many were read."""
    count = 0
    for count, envelope in enumerate(envelopes, start=1):
        projector(session, Event.from_cloudevent(json.loads(envelope)))
        if count % CHUNK == 0:
            session.flush()
            session.expunge_all()
    session.flush()
    return count


def archived_envelopes(session: Session, after: int = 0) -> Iterator[str]:
    """The archive from position ``after`` on, read a page at a time (memory stays bounded)."""
    while True:
        page = session.execute(
            select(ArchivedEvent.position, ArchivedEvent.envelope)
            .where(ArchivedEvent.position > after)
            .order_by(ArchivedEvent.position)
            .limit(CHUNK)
        ).all()
        for position, envelope in page:
            after = position
            yield envelope
        if len(page) < CHUNK:
            return


def rebuild(database: Database) -> RebuildResult:
    session = database.session()
    try:
        with session.begin():
            if database.is_postgresql:
                session.execute(text("LOCK TABLE archived_events IN EXCLUSIVE MODE"))
            for model in READ_MODEL:
                session.execute(delete(model))
            session.info[REBUILT_KEYS] = set()
            events = replay(session, archived_envelopes(session))
            projected = sum(
                session.scalar(select(text("count(*)")).select_from(model.__table__)) or 0
                for model in READ_MODEL
            )
        return RebuildResult(events=events, projected=projected)
    finally:
        session.close()
