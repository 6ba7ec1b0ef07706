"""Retention: when a client's retention period has run out, intake announces
``client.retention_expired`` and every service erases what it holds about the client, once
(a replayed event erases nothing twice: the ``erasures`` table remembers), and reports back how
many rows of each kind went. The audit trail keeps only that it happened."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, MetaData, String, Table, delete, select
from sqlalchemy.orm import Session

from shared.db import UtcDateTime, insert_ignoring_duplicates
from shared.privacy import NOT_THE_RECORD

#: Which of the given client ids this service has erased (one query for a whole batch).
ErasedAmong = Callable[[Session, Collection[str]], set[str]]

#: Events about the erasure itself, still handled for an erased client: a repeated
#: ``retention_expired`` erases nothing twice, and intake records each service's report.
ERASURE_EVENT_SUFFIXES = (".client.retention_expired.v1", ".client.erased.v1")


def is_erasure_event(routing_key: str) -> bool:
    return routing_key.endswith(ERASURE_EVENT_SUFFIXES)


class Erasures:
    """The ``erasures`` table: which clients this service has erased, when, and how much."""

    def __init__(self, metadata: MetaData) -> None:
        self.table = Table(
            "erasures",
            metadata,
            Column("client_id", String(36), primary_key=True),
            Column("erased_at", UtcDateTime(), nullable=False),
            Column("erased", JSON, nullable=False),
        )

    def erased_among(self, session: Session, client_ids: Collection[str]) -> set[str]:
        """The ones of ``client_ids`` this service has erased."""
        return set(
            session.scalars(
                select(self.table.c.client_id).where(self.table.c.client_id.in_(sorted(client_ids)))
            )
        )


def _client_keys(
    session: Session, metadata: MetaData, client_id: str, keep: Collection[str]
) -> dict[str, tuple[Any, set[Any]]]:
    """Table -> (the column that ties its rows to the client, the values found), following
    foreign keys from the tables with a ``client_id`` to their children, and theirs."""
    tables = [
        t for t in metadata.sorted_tables if t.name not in NOT_THE_RECORD | {"erasures", *keep}
    ]
    found: dict[str, tuple[Any, set[Any]]] = {}
    for table in tables:
        if "client_id" in table.c:
            found[table.name] = (table.c.client_id, {client_id})
    grew = True
    while grew:
        grew = False
        for table in tables:
            if table.name in found:
                continue
            for foreign_key in table.foreign_keys:
                parent = foreign_key.column.table
                if parent.name not in found:
                    continue
                column, values = found[parent.name]
                keys = set(
                    session.execute(
                        select(foreign_key.column).where(column.in_(sorted(values)))
                    ).scalars()
                )
                found[table.name] = (foreign_key.parent, keys)
                grew = True
                break
    return found


def erase_client(
    session: Session, metadata: MetaData, client_id: str, *, keep: Collection[str] = ()
) -> dict[str, int]:
    """Delete every row about the client (children first); table -> rows deleted."""
    found = _client_keys(session, metadata, client_id, keep)
    erased: dict[str, int] = {}
    for table in reversed(metadata.sorted_tables):
        if table.name not in found:
            continue
        column, values = found[table.name]
        if not values:
            continue
        count = session.execute(delete(table).where(column.in_(sorted(values)))).rowcount
        if count:
            erased[table.name] = int(count)
    return erased


def erase_once(
    session: Session,
    metadata: MetaData,
    erasures: Erasures,
    client_id: str,
    now: datetime,
    *,
    keep: Collection[str] = (),
) -> dict[str, int] | None:
    """Erase the client unless this service already did (then None: nothing to report again)."""
    claimed = insert_ignoring_duplicates(
        session,
        erasures.table,
        [{"client_id": client_id, "erased_at": now, "erased": {}}],
        erasures.table.c.client_id,
    )
    if not claimed:
        return None
    erased = erase_client(session, metadata, client_id, keep=keep)
    session.execute(
        erasures.table.update().where(erasures.table.c.client_id == client_id).values(erased=erased)
    )
    return erased


def retention_expired_handler(
    metadata: MetaData, erasures: Erasures, erased_event: Callable[..., Any]
) -> Callable[..., None]:
    """The handler of intake's ``client.retention_expired`` for a service other than intake:
    erase what the service holds about the client, once, and report it back with the service's
    own ``client.erased`` event (``erased_event(client_id=, erased_at=, erased=)``)."""

    def on_retention_expired(event: Any, uow: Any, *, clock: Any, **_: Any) -> None:
        now = clock.now()
        client_id = event.data["client_id"]
        erased = erase_once(uow.session, metadata, erasures, client_id, now)
        if erased is not None:
            uow.publish(erased_event(client_id=client_id, erased_at=now, erased=erased))

    return on_retention_expired
