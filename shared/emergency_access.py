"""Break-the-glass access to one client's crisis picture: who may ask, for how long, and the
``emergency_grants`` table each service holding part of that picture keeps.

Intake grants (it holds the client and their team) and announces
``intake.access.emergency_granted.v1``; planning keeps the same rows from that event, so each
service checks a grant in its own database and audits every read under it as emergency access."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, Index, MetaData, String, Table, select
from sqlalchemy.orm import Session

from shared.db import UtcDateTime, insert_ignoring_duplicates

#: Who may break the glass: on-call staff, and supervisors for clients outside their team.
EMERGENCY_ROLES: tuple[str, ...] = ("on_call", "supervisor")
#: Audit actions of emergency access: the trail and its CSV export mark them.
GRANTED = "emergency_access_granted"
READ = "emergency_read"
#: Why the purpose header may not be left out (the refusal says so).
PURPOSE_WHY = "emergency access opens a client you do not carry; say why (it is audited)."


def expires_at(granted_at: datetime, hours: float) -> datetime:
    return granted_at + timedelta(hours=hours)


def _moment(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


class EmergencyGrants:
    """The ``emergency_grants`` table of one service's database."""

    def __init__(self, metadata: MetaData) -> None:
        self.table = Table(
            "emergency_grants",
            metadata,
            Column("id", String(36), primary_key=True),
            Column("client_id", String(36), nullable=False),
            Column("granted_to", String(128), nullable=False),
            Column("roles", JSON, nullable=False),
            Column("granted_at", UtcDateTime(), nullable=False),
            Column("expires_at", UtcDateTime(), nullable=False),
        )
        Index("ix_emergency_grants_client_to", self.table.c.client_id, self.table.c.granted_to)

    def record(self, session: Session, data: Mapping[str, Any]) -> bool:
        """Keep a grant (once, whatever the redeliveries); True when it was new."""
        row = {
            "id": data["grant_id"],
            "client_id": data["client_id"],
            "granted_to": data["granted_to"],
            "roles": list(data.get("roles") or []),
            "granted_at": _moment(data["granted_at"]),
            "expires_at": _moment(data["expires_at"]),
        }
        return bool(insert_ignoring_duplicates(session, self.table, [row], self.table.c.id))

    def in_force(
        self, session: Session, client_id: str, granted_to: str, now: datetime
    ) -> Any | None:
        """The caller's grant for this client that has not expired (the latest), or None."""
        return session.execute(
            select(self.table)
            .where(
                self.table.c.client_id == client_id,
                self.table.c.granted_to == granted_to,
                self.table.c.expires_at > now,
            )
            .order_by(self.table.c.expires_at.desc())
            .limit(1)
        ).first()

    def erase_client(self, session: Session, client_id: str) -> int:
        """Retention: the client's grants go with the rest of their record."""
        return int(
            session.execute(self.table.delete().where(self.table.c.client_id == client_id)).rowcount
            or 0
        )
