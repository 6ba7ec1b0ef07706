"""The client record as a screen shows it: the client, consents, assessments, risk flags and
reminder consent read in one request (a client record page made five calls for them, each
paying the request's fixed cost: authentication, the access check, a transaction, an audit
statement). The read is audited as those five calls audited it, one row per kind read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from services.intake.models import (
    AUDIT,
    Assessment,
    Client,
    Consent,
    ReminderConsent,
    RiskFlag,
)
from services.intake.operations.access import load_client
from shared.identity import Principal
from shared.pagination import Page, keyset_page
from shared.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ClientRecord:
    """Each list is its first page, oldest first; a ``next_cursor`` continues it at the list's
    own endpoint (``/clients/{id}/consents`` and so on)."""

    client: Client
    consents: Page[Consent]
    assessments: Page[Assessment]
    #: The id of the version that amended each assessment shown (absent: not amended).
    superseded_by: dict[str, str]
    risk_flags: Page[RiskFlag]
    #: None when the client was never asked about reminders.
    reminder_consent: ReminderConsent | None


def _first_page(
    uow: UnitOfWork, record: Any, client: Client, order: Sequence[Any], limit: int
) -> Page[Any]:
    return keyset_page(
        uow.session,
        select(record).where(record.client_id == client.id),
        list(order),
        limit=limit,
        cursor=None,
    )


def amendments_of(uow: UnitOfWork, assessments: Sequence[Assessment]) -> dict[str, str]:
    """For each assessment that was amended, the id of the version amending it: one query."""
    ids = [assessment.id for assessment in assessments]
    if not ids:
        return {}
    rows = uow.session.execute(
        select(Assessment.supersedes_id, Assessment.id).where(Assessment.supersedes_id.in_(ids))
    ).all()
    return {str(old): new for old, new in rows}


def read_client_record(
    uow: UnitOfWork, actor: Principal, client_id: str, *, limit: int
) -> ClientRecord:
    """404 as ``read_client`` when the caller may not see the client."""
    client = load_client(uow, actor, client_id)
    consents = _first_page(uow, Consent, client, [Consent.granted_at, Consent.id], limit)
    assessments = _first_page(
        uow,
        Assessment,
        client,
        [Assessment.completed_at, Assessment.version, Assessment.id],
        limit,
    )
    flags = _first_page(uow, RiskFlag, client, [RiskFlag.opened_at, RiskFlag.id], limit)
    reminders = uow.session.get(ReminderConsent, client.id)
    AUDIT.record(uow.session, actor, "read", "client", client.id, client.id, via="record")
    for kind in ("consent", "assessment", "risk_flag"):
        AUDIT.record(uow.session, actor, "read", kind, None, client.id, via="record")
    if reminders is not None:
        AUDIT.record(
            uow.session, actor, "read", "reminder_consent", client.id, client.id, via="record"
        )
    return ClientRecord(
        client=client,
        consents=consents,
        assessments=assessments,
        superseded_by=amendments_of(uow, assessments.items),
        risk_flags=flags,
        reminder_consent=reminders,
    )
