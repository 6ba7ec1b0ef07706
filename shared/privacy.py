"""The client's right of access: everything one service's database holds about one client, as
JSON-ready rows per table (encrypted notes decrypted, as the client is entitled to read them).

Rows are found by the ``client_id`` column (or a ``clients`` table's own id), then by following
foreign keys one step to their children (a plan's versions and notes, a referral's moves)."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import MetaData, Table, select
from sqlalchemy.orm import Session

#: Platform bookkeeping, not the client's record (the audit trail is exported on its own).
NOT_THE_RECORD = frozenset(
    {"outbox", "inbox", "idempotency_keys", "audit_log", "audit_chain", "care_team"}
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _rows(session: Session, table: Table, statement: Any) -> list[dict[str, Any]]:
    return [
        {key: _plain(value) for key, value in row.items()}
        for row in session.execute(statement).mappings()
    ]


def client_record(session: Session, metadata: MetaData, client_id: str) -> dict[str, Any]:
    """Table name -> the client's rows in it (tables without any are left out)."""
    tables = [t for t in metadata.sorted_tables if t.name not in NOT_THE_RECORD]
    found: dict[str, list[dict[str, Any]]] = {}
    for table in tables:
        if "client_id" in table.c:
            found[table.name] = _rows(
                session, table, select(table).where(table.c.client_id == client_id)
            )
        elif table.name == "clients" and "id" in table.c:
            found[table.name] = _rows(session, table, select(table).where(table.c.id == client_id))
    for table in tables:
        if table.name in found:
            continue
        for foreign_key in table.foreign_keys:
            parent = foreign_key.column.table.name
            if parent not in found:
                continue
            keys = [row[foreign_key.column.name] for row in found[parent]]
            rows = _in_batches(session, table, foreign_key.parent, keys)
            found.setdefault(table.name, []).extend(rows)
    return {name: rows for name, rows in found.items() if rows}


def _in_batches(
    session: Session, table: Table, column: Any, keys: Iterable[Any], size: int = 500
) -> list[dict[str, Any]]:
    keys = list(keys)
    rows: list[dict[str, Any]] = []
    for start in range(0, len(keys), size):
        rows += _rows(session, table, select(table).where(column.in_(keys[start : start + size])))
    return rows
