"""Server-side sessions: the browser holds only a random id; tokens and who is signed in stay
here, in the web app's own database. Idle timeout and absolute lifetime are enforced on read."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    delete,
    insert,
    inspect,
    select,
    update,
)

from shared.db import Database

METADATA = MetaData()
WEB_SESSIONS = Table(
    "web_sessions",
    METADATA,
    # Only a hash of the id is stored: a copy of the database does not hand out live sessions.
    Column("id_hash", String(64), primary_key=True),
    Column("data", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
)


#: How often the activity of a session that did not change is written (see ``SessionStore.save``).
TOUCH_EVERY = timedelta(seconds=60)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass
class WebSession:
    """One browser's session: ``data`` holds the CSRF token, sign-in state and, once signed in,
    the person's id, name, roles and tokens."""

    id: str
    data: dict[str, Any]
    created_at: datetime
    last_seen_at: datetime
    is_new: bool = False
    changed: bool = False
    _initial: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def csrf_token(self) -> str:
        token = self.data.get("csrf")
        if not token:
            token = secrets.token_urlsafe(32)
            self.set("csrf", token)
        return str(token)

    @property
    def signed_in(self) -> bool:
        return bool(self.data.get("sub"))

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.changed = True

    def pop(self, key: str) -> Any:
        self.changed = self.changed or key in self.data
        return self.data.pop(key, None)


class SessionStore:
    def __init__(self, database: Database, *, idle: timedelta, lifetime: timedelta) -> None:
        self.database = database
        self.idle = idle
        self.lifetime = lifetime

    def create_schema(self) -> None:
        METADATA.create_all(self.database.engine)

    def new(self, now: datetime, data: dict[str, Any] | None = None) -> WebSession:
        """A fresh session, saved on the first change (anonymous visitors leave no rows)."""
        return WebSession(secrets.token_urlsafe(32), dict(data or {}), now, now, is_new=True)

    def load(self, session_id: str | None, now: datetime) -> WebSession | None:
        """The live session with this id, or None (unknown, idle too long, or too old)."""
        if not session_id or len(session_id) > 100:
            return None
        with self._reading() as connection:
            row = connection.execute(
                select(WEB_SESSIONS).where(WEB_SESSIONS.c.id_hash == _hash(session_id))
            ).first()
            if row is None:
                return None
            created, seen = _aware(row.created_at, now), _aware(row.last_seen_at, now)
            if now - seen > self.idle or now - created > self.lifetime:
                connection.execute(
                    delete(WEB_SESSIONS).where(WEB_SESSIONS.c.id_hash == row.id_hash)
                )
                return None
        return WebSession(session_id, dict(row.data), created, seen)

    def _reading(self) -> Any:
        """Every page reads its session before its API calls can start: on PostgreSQL one
        statement outside a transaction (no BEGIN and COMMIT round trips; the rare DELETE of
        an expired session commits by itself). SQLite keeps its transaction (shared/db.py
        begins them itself)."""
        if self.database.engine.dialect.name == "sqlite":
            return self.database.engine.begin()
        return self.database.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def save(self, session: WebSession, now: datetime, *, activity: bool = True) -> None:
        """Write the session if it changed, and record activity (for the idle timeout). An
        unchanged session's activity is written at most every ``TOUCH_EVERY``: most pages then
        write nothing, and the idle timeout can only come that much early, never late. A
        request the page makes by itself (the crisis banner's check) is not activity: a tab
        left open on an unattended screen still times out."""
        if session.is_new and not session.changed:
            return
        quiet = not activity or now - session.last_seen_at < TOUCH_EVERY
        if not session.is_new and not session.changed and quiet:
            return
        with self.database.engine.begin() as connection:
            if session.is_new:
                connection.execute(
                    insert(WEB_SESSIONS).values(
                        id_hash=_hash(session.id),
                        data=session.data,
                        created_at=session.created_at,
                        last_seen_at=now,
                    )
                )
                session.is_new = False
            else:
                values: dict[str, Any] = {"last_seen_at": now} if activity else {}
                if session.changed:
                    values["data"] = session.data
                connection.execute(
                    update(WEB_SESSIONS)
                    .where(WEB_SESSIONS.c.id_hash == _hash(session.id))
                    .values(**values)
                )
        if activity:
            session.last_seen_at = now
        session.changed = False

    def rotate(self, session: WebSession, now: datetime) -> WebSession:
        """A new id for the same visitor at sign-in (session fixation); the old id dies."""
        self.destroy(session)
        return WebSession(secrets.token_urlsafe(32), dict(session.data), now, now, True, True)

    def destroy(self, session: WebSession) -> None:
        if session.is_new:
            return
        with self.database.engine.begin() as connection:
            connection.execute(
                delete(WEB_SESSIONS).where(WEB_SESSIONS.c.id_hash == _hash(session.id))
            )

    def purge_expired(self, now: datetime) -> int:
        with self.database.engine.begin() as connection:
            return connection.execute(
                delete(WEB_SESSIONS).where(
                    (WEB_SESSIONS.c.last_seen_at < now - self.idle)
                    | (WEB_SESSIONS.c.created_at < now - self.lifetime)
                )
            ).rowcount


def _aware(moment: datetime, now: datetime) -> datetime:
    """SQLite hands back naive datetimes: they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=now.tzinfo)


def session_table_present(database: Database) -> bool:
    try:
        return inspect(database.engine).has_table(WEB_SESSIONS.name)
    except Exception:  # the database is not up yet
        return False
