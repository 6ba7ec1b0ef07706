"""Throwing the read model away and replaying the event archive into it with the same handlers,
while the live consumer goes on.

1. **Drop** (one transaction): the inbox is locked (PostgreSQL; SQLite has one writer anyway),
   so the live consumer's batch in progress finishes first and its next one waits; the read
   model and the inbox are emptied, and the archive's end is marked. Every event whose effect
   was just deleted was handled before this moment, so it lies before the mark.
2. **Replay** from the first offset up to the mark, a chunk per transaction: each records its
   events in the inbox (``ON CONFLICT DO NOTHING``), projects those that were new with the
   service's own handlers, and writes the last offset into ``archive_replay`` — all in one
   commit, so the row says exactly how far the read model has got.
3. **Handover**: the live consumer never stops. An event published after the drop reaches its
   queue and is projected there; one before the mark but not yet consumed reaches both. Both
   paths go through the same inbox, and a chunk takes the inbox lock before it reads anything,
   so whichever comes first projects the event and the other skips it: no gap, no double count.

The archive is read and decoded (contract validation included) a chunk ahead, in a thread,
while the current chunk waits on the database (``shared/messaging/read_ahead.py``).

Readers see the figures fill up during the replay (``archive_replay.finished_at`` is empty
until it ends).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.reporting.models import READ_MODEL, ArchiveReplay
from services.reporting.operations.projection import REBUILT_KEYS
from shared.contracts import (
    REGISTRY,
    ContractViolation,
    EnvelopeError,
    Event,
    UnknownEventType,
)
from shared.db import insert_ignoring_duplicates
from shared.logging import get_logger
from shared.messaging.archive import ArchivedMessage, EventArchive
from shared.messaging.consumer import Handler
from shared.messaging.read_ahead import ReadAhead
from shared.service import ServiceRuntime
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)

#: Events projected per transaction (the live consumer waits at most one chunk).
CHUNK = 2000
REPLAY_ROW = 1


@dataclass
class RebuildResult:
    #: Archived messages read up to the end mark.
    events: int = 0
    #: Projected by the replay, and left because the inbox had them already: handled by the
    #: live consumer first, or an earlier copy of the same event in the archive.
    projected: int = 0
    already_handled: int = 0
    #: Not events reporting can read (an unknown type, an invalid payload) or whose handler
    #: failed: the live consumer would have dead-lettered them too.
    skipped: int = 0
    failed_event_ids: list[str] = field(default_factory=list)
    last_offset: int | None = None
    #: Where the replay found a row the live consumer had made and went on looking each key up
    #: (None: the shortcut into the emptied tables held to the end).
    lookups_from_offset: int | None = None


#: A chunk's inbox rows on PostgreSQL: two array parameters, where a row per event made psycopg
#: parse a statement with three placeholders an event (a fifth of a chunk's time in the profile).
_INBOX_UNNEST = (
    "INSERT INTO {inbox} (event_id, event_type, received_at) "
    "SELECT given.id, given.type, :now "
    "FROM unnest(CAST(:ids AS varchar[]), CAST(:types AS varchar[])) AS given(id, type) "
    "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
)


def _lock_inbox(session: Session, runtime: ServiceRuntime) -> None:
    """Make the live consumer's inbox insert wait for this transaction (readers are not held)."""
    if runtime.database.is_postgresql:
        inbox = runtime.spec.tables.inbox.name
        session.execute(text(f"LOCK TABLE {inbox} IN EXCLUSIVE MODE"))


def drop_read_model(runtime: ServiceRuntime, archive: EventArchive, now: datetime) -> str:
    """Empty the read model and the inbox, mark the archive's end; the mark."""
    session = runtime.database.session()
    try:
        with session.begin():
            _lock_inbox(session, runtime)
            for model in READ_MODEL:
                session.execute(delete(model))
            session.execute(delete(runtime.spec.tables.inbox))
            mark = archive.end_mark()  # a broker away fails the rebuild before anything is lost
            session.merge(
                ArchiveReplay(
                    id=REPLAY_ROW,
                    started_at=now,
                    end_mark=mark,
                    last_offset=None,
                    replayed=0,
                    already_handled=0,
                    finished_at=None,
                )
            )
        return mark
    finally:
        session.close()


def _decode(message: ArchivedMessage, handlers: Mapping[str, Handler]) -> Event | None:
    """As the consumer decodes: a CloudEvent of a type reporting handles, validated tolerantly."""
    try:
        event = Event.from_cloudevent(json.loads(message.body))
        if event.routing_key not in handlers:
            return None
        data = REGISTRY.validate(event.type, event.data, tolerant=True)
    except (ValueError, EnvelopeError, ContractViolation, UnknownEventType):
        return None
    return Event(**{**event.__dict__, "data": data})


class Replay:
    """Chunks of archived events into the read model, each with its offset, in one commit."""

    def __init__(self, runtime: ServiceRuntime, result: RebuildResult) -> None:
        self.runtime = runtime
        self.result = result
        self.handlers = runtime.handlers()
        self.inbox = runtime.spec.tables.inbox
        #: Rows the replay has made (the fast path into an emptied read model); None once the
        #: live consumer is known to have made rows too.
        self.made: set[Any] | None = set()

    def decode(self, message: ArchivedMessage) -> tuple[ArchivedMessage, Event | None]:
        return message, _decode(message, self.handlers)

    def chunk(self, decoded: list[tuple[ArchivedMessage, Event | None]]) -> None:
        if not decoded:
            return
        messages = [message for message, _ in decoded]
        unique: dict[str, Event] = {}
        for message, event in decoded:
            if event is None:
                self.result.skipped += 1
                log.warning("reporting.rebuild_skipped", offset=message.offset)
            else:
                unique.setdefault(event.id, event)
        last_offset = messages[-1].offset
        if self.made is not None:
            try:
                self._together(unique, last_offset, len(messages))
                return
            except IntegrityError:
                self.made = None  # the live consumer made some of these rows: look each up
                self.result.lookups_from_offset = messages[0].offset
            except Exception:
                log.warning("reporting.rebuild_chunk_failed", offset=last_offset)
                self.made = None
                self._one_by_one(unique, last_offset, len(messages))
                return
        try:
            self._together(unique, last_offset, len(messages))
        except Exception:
            self._one_by_one(unique, last_offset, len(messages))

    def _begin(self, session: Session, events: Iterable[Event]) -> set[str]:
        """Lock the inbox and record the events in it; the ids that were not there yet."""
        _lock_inbox(session, self.runtime)
        now = datetime.now(UTC)
        if self.runtime.database.is_postgresql:
            ids, types = [], []
            for event in events:
                ids.append(event.id)
                types.append(event.type)
            statement = _INBOX_UNNEST.format(inbox=self.inbox.name)
            found = session.execute(text(statement), {"ids": ids, "types": types, "now": now})
            return set(found.scalars())
        rows = [{"event_id": e.id, "event_type": e.type, "received_at": now} for e in events]
        return insert_ignoring_duplicates(session, self.inbox, rows, self.inbox.c.event_id)

    def _finish(
        self, session: Session, last_offset: int, read: int, projected: int, live: int
    ) -> None:
        replay = session.get(ArchiveReplay, REPLAY_ROW)
        assert replay is not None
        replay.last_offset = last_offset
        replay.replayed += projected
        replay.already_handled += live
        session.flush()
        self.result.events += read
        self.result.projected += projected
        self.result.already_handled += live
        self.result.last_offset = last_offset

    def _together(self, unique: dict[str, Event], last_offset: int, read: int) -> None:
        session = self.runtime.database.session()
        made = set(self.made) if self.made is not None else None
        try:
            with session.begin():
                if made is not None:
                    session.info[REBUILT_KEYS] = made
                new = self._begin(session, unique.values())
                uow = UnitOfWork(session, self.runtime.outbox)
                for event in unique.values():
                    if event.id in new:
                        self.handlers[event.routing_key](event, uow)
                projected = len(new)
                self._finish(session, last_offset, read, projected, len(unique) - projected)
        finally:
            session.close()
        if made is not None:
            self.made = made

    def _one_by_one(self, unique: dict[str, Event], last_offset: int, read: int) -> None:
        """A savepoint per event, so one failing handler never holds back the others."""
        session = self.runtime.database.session()
        projected = live = 0
        try:
            with session.begin():
                _lock_inbox(session, self.runtime)
                uow = UnitOfWork(session, self.runtime.outbox)
                for event in unique.values():
                    try:
                        with session.begin_nested():
                            if not self._begin(session, [event]):
                                live += 1
                                continue
                            self.handlers[event.routing_key](event, uow)
                        projected += 1
                    except Exception as error:
                        log.error(
                            "reporting.rebuild_event_failed", event_id=event.id, error=repr(error)
                        )
                        self.result.failed_event_ids.append(event.id)
                self._finish(session, last_offset, read, projected, live)
        finally:
            session.close()


def _read_model_holds_rows(runtime: ServiceRuntime) -> bool:
    with runtime.database.read_session() as session:
        return any(session.scalars(select(model).limit(1)).first() for model in READ_MODEL)


def rebuild(
    runtime: ServiceRuntime,
    archive: EventArchive | None = None,
    *,
    chunk: int = CHUNK,
    between_chunks: Callable[[RebuildResult], None] | None = None,
) -> RebuildResult:
    """Drop the read model, replay the archive from the first offset to the end mark."""
    archive = archive or runtime.event_archive()
    if not archive.holds_events() and _read_model_holds_rows(runtime):
        raise LookupError(
            "the event archive holds no events: the read model is left as it is (wrong "
            "CASEHUB_BROKER_URL, CASEHUB_EXCHANGE or CASEHUB_DATA_DIR, or the archive was lost)"
        )
    result = RebuildResult()
    mark = drop_read_model(runtime, archive, datetime.now(UTC))
    replay = Replay(runtime, result)
    with ReadAhead(archive.read("first", until=mark), replay.decode, chunk) as chunks:
        for decoded in chunks:
            replay.chunk(decoded)
            if between_chunks is not None and len(decoded) >= chunk:
                between_chunks(result)
    with runtime.database.session() as session, session.begin():
        finished = session.get(ArchiveReplay, REPLAY_ROW)
        assert finished is not None
        finished.finished_at = datetime.now(UTC)
    return result
