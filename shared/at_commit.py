"""What a transaction writes only when it commits (audit rows to chain, outbox rows), kept in the
session until then and forgotten with the part of the transaction that is rolled back.

Each item remembers the savepoint it was recorded in: rolling a savepoint back forgets what was
recorded inside it and nothing recorded before it (a consumer batch redone one event at a time,
each in a savepoint, keeps the audit rows and events of the events that succeeded; rolling back
the whole transaction forgets everything)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.orm import Session, SessionTransaction

#: Rows to insert at commit, (table, values): ``shared.audit_chain``'s commit hook writes them,
#: a lone one in the statement that chains a lone audit row.
ROWS_KEY = "casehub_rows_at_commit"
#: The session.info keys whose items this module keeps.
_KEYS: set[str] = {ROWS_KEY}


def defer(session: Session, key: str, item: Any) -> None:
    """Keep ``item`` under ``key`` until ``take`` (at commit) or a rollback that covers it."""
    _KEYS.add(key)
    session.info.setdefault(key, []).append((session.get_nested_transaction(), item))


def insert_at_commit(session: Session, table: Table, values: dict[str, Any]) -> None:
    """Insert a row (an outbox row) when the session's transaction commits."""
    defer(session, ROWS_KEY, (table, values))


def take(session: Session, key: str) -> list[Any]:
    """The items kept under ``key``, in the order recorded; the session keeps none after."""
    return [item for _savepoint, item in session.info.pop(key, None) or ()]


def give_back(session: Session, key: str, items: list[Any]) -> None:
    """Keep items taken from another session (its transaction could not write them)."""
    for item in items:
        defer(session, key, item)


def _inside(savepoint: SessionTransaction | None, rolled_back: SessionTransaction) -> bool:
    while savepoint is not None:
        if savepoint is rolled_back:
            return True
        savepoint = savepoint.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _forget_what_was_rolled_back(session: Session, previous: SessionTransaction) -> None:
    for key in _KEYS:
        kept = session.info.get(key)
        if not kept:
            continue
        if not previous.nested:
            session.info.pop(key, None)
        else:
            session.info[key] = [entry for entry in kept if not _inside(entry[0], previous)]
