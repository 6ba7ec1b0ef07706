"""A caseload as its case manager (or their supervisor) reads it: one query for the access
check, the clients, their current episode and open flags; the read audited with it (an audited
read: two round trips, see ``shared.unit_of_work.audited_read``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, func, select, true

from services.intake import domain
from services.intake.models import (
    AUDIT,
    CaseManager,
    Client,
    Episode,
    RiskFlag,
)
from shared.errors import NotFound
from shared.identity import Principal
from shared.pagination import Page, ordered_page
from shared.unit_of_work import AuditedRead


@dataclass(frozen=True)
class CaseloadEntry:
    """One client on a caseload: the summary the list shows, not the full record."""

    client: Mapping[str, Any]
    highest_open_risk: str | None
    open_risk_flags: int
    next_review_due: date | None
    last_contact_at: datetime | None


#: The client columns a caseload shows (no contact details, notes or nominated persons).
CASELOAD_CLIENT_COLUMNS = (
    Client.id,
    Client.reference,
    Client.status,
    Client.given_name,
    Client.family_name,
    Client.date_of_birth,
    Client.preferred_language,
    Client.case_manager_id,
)
_RISK_RANK = case(
    *((RiskFlag.level == level.value, level.rank) for level in domain.RiskLevel),
    else_=0,
)


def _caseload_query() -> Any:
    """Built once: the query's construction and cache key cost more CPU than its round trip."""
    flag_count = (
        select(func.count(RiskFlag.id))
        .where(RiskFlag.client_id == Client.id, RiskFlag.status == "open")
        .correlate(Client)
        .scalar_subquery()
    )
    flag_rank = (
        select(func.max(_RISK_RANK))
        .where(RiskFlag.client_id == Client.id, RiskFlag.status == "open")
        .correlate(Client)
        .scalar_subquery()
    )
    latest = (
        select(func.max(Episode.number))
        .where(Episode.client_id == Client.id)
        .correlate(Client)
        .scalar_subquery()
    )
    return (
        select(
            CaseManager.active,
            CaseManager.supervisor_id,
            *CASELOAD_CLIENT_COLUMNS,
            Episode.next_review_due,
            Episode.last_contact_at,
            flag_count.label("open_flags"),
            flag_rank.label("rank"),
        )
        .select_from(CaseManager)
        .outerjoin(Client, Client.case_manager_id == CaseManager.id)
        .outerjoin(Episode, and_(Episode.client_id == Client.id, Episode.number == latest))
        .where(CaseManager.id == bindparam("case_manager_id"))
    )


def _caseload_query_postgresql() -> Any:
    """PostgreSQL: the same rows, each client's current episode taken by one probe of the
    (client, number) index (``LATERAL ... ORDER BY number DESC LIMIT 1``) instead of a max()
    probe and then a scan of the client's episodes for it, and the open flags counted and ranked
    in one pass instead of two. SQLite has no LATERAL: it runs ``_caseload_query``."""
    current_episode = (
        select(Episode.next_review_due, Episode.last_contact_at)
        .where(Episode.client_id == Client.id)
        .order_by(Episode.number.desc())
        .limit(1)
        .lateral("current_episode")
    )
    open_flags = (
        select(
            func.count(RiskFlag.id).label("open_flags"),
            func.max(_RISK_RANK).label("rank"),
        )
        .where(RiskFlag.client_id == Client.id, RiskFlag.status == "open")
        .lateral("open_flags")
    )
    return (
        select(
            CaseManager.active,
            CaseManager.supervisor_id,
            *CASELOAD_CLIENT_COLUMNS,
            current_episode.c.next_review_due,
            current_episode.c.last_contact_at,
            open_flags.c.open_flags,
            open_flags.c.rank,
        )
        .select_from(CaseManager)
        .outerjoin(Client, Client.case_manager_id == CaseManager.id)
        .outerjoin(current_episode, true())
        .outerjoin(open_flags, true())
        .where(CaseManager.id == bindparam("case_manager_id"))
    )


_CASELOAD = _caseload_query()
_CASELOAD_POSTGRESQL = _caseload_query_postgresql()
_CLIENT_KEYS = tuple(column.key for column in CASELOAD_CLIENT_COLUMNS)
#: Where the client columns sit in a row of ``_CASELOAD`` (after the manager's two).
_CLIENTS_AT = slice(2, 2 + len(CASELOAD_CLIENT_COLUMNS))
_LEVEL_NAMES = [str(level) for level in domain.RiskLevel]
_LEVEL_RANKS = {str(level): level.rank for level in domain.RiskLevel}
_NO_REVIEW_DUE = date.max.isoformat()


def caseload(
    read: AuditedRead, actor: Principal, case_manager_id: str, *, limit: int, cursor: str | None
) -> Page[CaseloadEntry]:
    """The case manager's open clients: open risk flags first (high before moderate), then the
    nearest review due, a page at a time. The rank is computed here, so the page is cut in Python
    (a caseload is capped: ≤ 500). One query reads the manager (for the access check) and every
    client with its current episode and open flags; the audit row of the read is chained at the
    end of the read."""
    # Core, not the ORM: the statement selects columns only, and the ORM's execution context
    # around it cost more CPU than the query's own round trip.
    connection = read.session.connection()
    query = _CASELOAD_POSTGRESQL if connection.dialect.name == "postgresql" else _CASELOAD
    rows = connection.execute(query, {"case_manager_id": case_manager_id}).all()
    manager = rows[0] if rows else None
    allowed = manager is not None and (
        actor.has_any("admin")
        or (actor.sub == case_manager_id and manager.active)
        or (actor.has_any("supervisor") and manager.supervisor_id == actor.sub)
    )
    if not allowed:
        raise NotFound(f"No caseload {case_manager_id} that you may see.")
    entries = [
        CaseloadEntry(
            client=dict(zip(_CLIENT_KEYS, row[_CLIENTS_AT], strict=True)),
            highest_open_risk=_LEVEL_NAMES[row.rank] if row.open_flags else None,
            open_risk_flags=row.open_flags or 0,
            next_review_due=row.next_review_due,
            last_contact_at=row.last_contact_at,
        )
        for row in rows
        if row.id is not None
    ]

    def order(entry: CaseloadEntry) -> tuple[int, str, str]:
        due = entry.next_review_due
        return (
            -_LEVEL_RANKS.get(entry.highest_open_risk, 0),
            _NO_REVIEW_DUE if due is None else due.isoformat(),
            entry.client["reference"],
        )

    page = ordered_page(entries, order, limit=limit, cursor=cursor)
    AUDIT.record(
        read.session, actor, "read", "caseload", case_manager_id, None, clients=len(page.items)
    )
    return page
