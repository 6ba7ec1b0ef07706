"""Who supervises which case manager, and who is still active: the projection of intake's
``case_manager.updated`` events that planning, referrals and notifications keep in their own
databases, so their access rules follow a team change (never read from intake's database).

Events may arrive late, twice or out of order (competing consumers, retries): each carries a
version and a projection keeps only the highest it has seen."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Integer,
    MetaData,
    String,
    Table,
    exists,
    select,
)
from sqlalchemy.orm import Session

from shared.db import UtcDateTime


def supersedes(incoming: int | None, stored: int | None) -> bool:
    """Whether an event's version replaces what a projection holds. An event from before
    versions were carried (``None``) is applied as it always was."""
    return incoming is None or stored is None or incoming > stored


def _moment(value: datetime | str) -> datetime:
    """Event data arrives as JSON: timestamps as ISO 8601 text."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


class CareTeam:
    """The ``care_team`` table of one service's database and what access rules ask of it."""

    def __init__(self, metadata: MetaData) -> None:
        self.table = Table(
            "care_team",
            metadata,
            Column("case_manager_id", String(128), primary_key=True),
            Column("team", String(100), nullable=False),
            Column("supervisor_id", String(128), index=True),
            Column("active", Boolean, nullable=False),
            Column("version", Integer, nullable=False),
            Column("updated_at", UtcDateTime(), nullable=False),
        )

    def record(self, session: Session, data: Mapping[str, Any]) -> bool:
        """Keep the announced team if it is newer than the one held; True when it was. One
        statement (insert, or update only where the held version is older), so two consumers
        handling two changes at once cannot leave the older one in place."""
        if session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        values = {
            "case_manager_id": data["case_manager_id"],
            "team": data["team"],
            "supervisor_id": data.get("supervisor_id"),
            "active": data["active"],
            "version": data["version"],
            "updated_at": _moment(data["updated_at"]),
        }
        statement = dialect_insert(self.table).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=[self.table.c.case_manager_id],
            set_={name: statement.excluded[name] for name in values if name != "case_manager_id"},
            where=self.table.c.version < statement.excluded.version,
        ).returning(self.table.c.case_manager_id)
        return session.execute(statement).first() is not None

    def supervisor_of(
        self,
        session: Session,
        case_manager_id: str | None,
        *,
        announced: str | None,
        announced_version: int | None,
    ) -> str | None:
        """The case manager's supervisor: from the team held here, unless an assignment event
        names a supervisor from a newer version of the team than the one held (or none is).

        The team row is share-locked to the end of the caller's transaction: a team change
        handled at the same moment waits, then finds the caller's episode and moves it too;
        one handled first is read here. Either way the episode ends with the new supervisor."""
        if case_manager_id is None:
            return None
        held = session.execute(
            select(self.table.c.supervisor_id, self.table.c.version)
            .where(self.table.c.case_manager_id == case_manager_id)
            .with_for_update(read=True)
        ).first()
        if held is None or (announced_version is not None and announced_version > held.version):
            return announced
        return held.supervisor_id  # type: ignore[no-any-return]

    def deactivated(self, case_manager_id: str) -> ColumnElement[bool]:
        """True for a case manager marked inactive: they left, and their access with them."""
        return exists(
            select(self.table.c.case_manager_id).where(
                self.table.c.case_manager_id == case_manager_id,
                self.table.c.active.is_(False),
            )
        )
