"""Idempotency keys on writes: a client that retries a POST after a timeout or a dropped
connection gets the first response again instead of a second assessment, referral or note.

A write request that carries ``Idempotency-Key`` claims ``(caller, key)`` inside the first unit
of work it opens, so the claim commits or rolls back with the change itself: a refused or failed
request leaves no claim and may be retried as it is or corrected. After the response is built
it is stored with the claim; a retry of the same request by the same caller within the retention
window replays it, the same key on a different request is refused, and a retry that arrives
while the first is still running (or whose response could not be kept) is told to wait. Keys
belong to one caller: nobody can replay, or learn anything from, someone else's key.
"""

from __future__ import annotations

import hashlib
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    select,
    update,
)
from sqlalchemy.orm import Session

from shared import context
from shared.db import Database, UtcDateTime, insert_ignoring_duplicates
from shared.errors import CasehubError, Conflict

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_LENGTH = 255
KEY_PATTERN = re.compile(rf"[\x21-\x7e]{{1,{KEY_LENGTH}}}")
RETENTION = timedelta(hours=24)
#: Response headers worth replaying; the rest (request id, dates) belong to each answer.
KEPT_HEADERS = ("Content-Type", "Location", "ETag")


def idempotency_table(metadata: MetaData) -> Table:
    """``idempotency_keys`` in a service's own database, beside its outbox and inbox."""
    table = Table(
        "idempotency_keys",
        metadata,
        Column("actor", String(128), primary_key=True),
        Column("key", String(KEY_LENGTH), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("status", Integer, nullable=True),
        Column("body", Text, nullable=True),
        Column("headers", JSON, nullable=True),
        comment="Write requests' Idempotency-Key claims and the responses to replay on a retry.",
    )
    Index("ix_idempotency_keys_created_at", table.c.created_at)
    return table


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes a retry the same request: method, path with query, and the exact body."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class KeyReused(CasehubError):
    """The same key came with a different request: a client bug, never silently merged."""

    status = 422


class StoredResponse(Exception):
    """Raised instead of running a request again; the web layer answers with it."""

    def __init__(self, status: int, body: str, headers: dict[str, str]) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers


@dataclass
class IdempotentRequest:
    """One write request's key, from its arrival to its stored response."""

    key: str
    fingerprint: str
    #: Set once the claim is written: where to store the response after the commit.
    claimed_in: tuple[Database, Table] | None = field(default=None)
    committed: bool = False

    def claim(self, session: Session, table: Table, database: Database) -> None:
        """Replay, refuse, or claim the key in the caller's transaction (once per request)."""
        actor = context.actor.get()
        if self.claimed_in is not None or actor is None:
            return
        claim = {
            "actor": actor,
            "key": self.key,
            "fingerprint": self.fingerprint,
            "created_at": datetime.now(UTC),
        }
        if insert_ignoring_duplicates(session, table, [claim], table.c.key):
            self.claimed_in = (database, table)
            return
        row = session.execute(
            select(table).where(table.c.actor == actor, table.c.key == self.key)
        ).first()
        if row is None:  # removed by expiry in between: a retry that late is a new request
            raise _in_progress()
        if row.fingerprint != self.fingerprint:
            raise KeyReused(
                f"This {KEY_HEADER} was already used for a different request; use a new key "
                "for a new request.",
                idempotency_key=self.key,
            )
        if row.status is None:
            raise _in_progress()
        raise StoredResponse(row.status, row.body or "", dict(row.headers or {}))

    def keep_response(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        """Store what the caller was answered; only a committed success is worth replaying."""
        if self.claimed_in is None or not self.committed or not 200 <= status < 300:
            return
        database, table = self.claimed_in
        with database.session() as session, session.begin():
            session.execute(
                update(table)
                .where(table.c.actor == context.actor.get(), table.c.key == self.key)
                .values(status=status, body=body.decode(), headers=headers)
            )


def _in_progress() -> Conflict:
    return Conflict(
        f"A request with this {KEY_HEADER} is still being processed, or was processed and its "
        "response could not be kept: retry in a moment, or look the record up.",
        reason="idempotency_key_in_use",
    )


#: The current HTTP request's key, if it is a write that sent one.
current_request: ContextVar[IdempotentRequest | None] = ContextVar(
    "idempotent_request", default=None
)


def remove_expired(database: Database, table: Table, now: datetime | None = None) -> int:
    """Claims older than the retention window go: a retry that late is a new request."""
    cutoff = (now or datetime.now(UTC)) - RETENTION
    with database.session() as session, session.begin():
        result = session.execute(delete(table).where(table.c.created_at < cutoff))
    return result.rowcount or 0


def kept_headers(headers: Any) -> dict[str, str]:
    return {name: headers[name] for name in KEPT_HEADERS if name in headers}
