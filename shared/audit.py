"""The audit trail every service keeps of reads and changes of client records (who, role, what,
when, under which request and why), written in the same transaction as the change it describes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Column, Index, Integer, MetaData, String, Table, select
from sqlalchemy.orm import Session

from shared import audit_chain, context
from shared.db import UtcDateTime
from shared.pagination import Page, keyset_page

if TYPE_CHECKING:
    from shared.identity import Principal

PURPOSE_LENGTH = 200


def purpose_column() -> Column[str]:
    """Why the record was read or changed: the caller's stated purpose, else the operation."""
    return Column("purpose", String(PURPOSE_LENGTH))


class AuditTrail:
    """The ``audit_log`` table of one service's database and the two things done with it."""

    def __init__(self, metadata: MetaData, *, as_first_migrated: bool = False) -> None:
        later = (
            []
            if as_first_migrated
            else [purpose_column(), *audit_chain.chain_columns(), audit_chain.lane_column()]
        )
        self.table = Table(
            "audit_log",
            metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("at", UtcDateTime(), nullable=False),
            Column("actor", String(128), nullable=False),
            Column("roles", JSON, nullable=False),
            Column("action", String(50), nullable=False),
            Column("entity", String(50), nullable=False),
            Column("entity_id", String(36)),
            Column("client_id", String(36)),
            Column("correlation_id", String(128)),
            Column("detail", JSON, nullable=False),
            *later,
        )
        Index("ix_audit_log_at", self.table.c.at)
        Index("ix_audit_log_actor", self.table.c.actor)
        Index("ix_audit_log_client_id", self.table.c.client_id)
        #: The last chained row (see ``shared.audit_chain``); not in the first migrated shape.
        self.head = None if as_first_migrated else audit_chain.head_table(metadata)

    def record(
        self,
        session: Session,
        actor: Principal,
        action: str,
        entity: str,
        entity_id: str | None,
        client_id: str | None,
        **detail: Any,
    ) -> None:
        """Never put names, answers or notes in ``detail``: identifiers and field names only.
        The row is chained to the trail (and inserted) when the transaction commits."""
        from datetime import UTC

        assert self.head is not None, "the first migrated shape of the trail records nothing"
        audit_chain.defer(
            session,
            self.table,
            self.head,
            {
                "at": datetime.now(UTC),
                "actor": actor.sub,
                "roles": sorted(actor.roles),
                "action": action,
                "entity": entity,
                "entity_id": entity_id,
                "client_id": client_id,
                "correlation_id": context.correlation_id.get(),
                "purpose": context.purpose.get(),
                "detail": detail,
            },
        )

    def verify(self, session: Session) -> audit_chain.Verification:
        assert self.head is not None
        return audit_chain.verify(session, self.table, self.head)

    def page(
        self,
        session: Session,
        *,
        client_id: str | None,
        actor_id: str | None,
        limit: int,
        cursor: str | None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Page[Any]:
        statement = select(self.table)
        if since is not None:
            statement = statement.where(self.table.c.at >= since)
        if until is not None:
            statement = statement.where(self.table.c.at < until)
        if client_id:
            statement = statement.where(self.table.c.client_id == client_id)
        if actor_id:
            statement = statement.where(self.table.c.actor == actor_id)
        return keyset_page(
            session, statement, [self.table.c.id], limit=limit, cursor=cursor, rows=True
        )
