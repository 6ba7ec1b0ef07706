"""The client record as a screen shows it: the client, consents, assessments, risk flags and
reminder consent read in one request (a client record page made five calls for them, each
paying the request's fixed cost: authentication, the access check, a transaction, an audit
statement). The read is audited as those five calls audited it, one row per kind read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.intake.models import (
    AUDIT,
    Assessment,
    Client,
    Consent,
    ReminderConsent,
    RiskFlag,
)
from services.intake.operations.access import client_records_page, load_client
from services.intake.operations.assessments import (
    ASSESSMENT_ORDER,
    RISK_FLAG_ORDER,
    amendments_of,
)
from services.intake.operations.consent import CONSENT_ORDER
from shared.identity import Principal
from shared.pagination import Page
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


def read_client_record(
    uow: UnitOfWork, actor: Principal, client_id: str, *, limit: int
) -> ClientRecord:
    """404 as ``read_client`` when the caller may not see the client."""
    client = load_client(uow, actor, client_id)

    def first_page(record: Any, order: Sequence[Any]) -> Page[Any]:
        return client_records_page(uow, client, record, order, limit=limit, cursor=None)

    consents = first_page(Consent, CONSENT_ORDER)
    assessments = first_page(Assessment, ASSESSMENT_ORDER)
    flags = first_page(RiskFlag, RISK_FLAG_ORDER)
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
