"""The client's consent to appointment reminders: recorded with the one channel and address the
client chose, withdrawn at once. Notifications learns both from one event and never reminds a
client it has no consent for."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from services.intake.events import ReminderConsentChanged
from services.intake.models import AUDIT, ReminderConsent
from services.intake.operations.access import load_client
from shared.errors import NotFound
from shared.identity import Principal
from shared.unit_of_work import UnitOfWork


def _change(
    uow: UnitOfWork,
    actor: Principal,
    client_id: str,
    now: datetime,
    *,
    channel: str | None,
    address: str | None,
) -> ReminderConsent:
    client = load_client(uow, actor, client_id, for_update=True)
    consent = uow.session.get(ReminderConsent, client.id, with_for_update=True)
    if consent is None:
        consent = ReminderConsent(client_id=client.id, version=0)
        uow.session.add(consent)
    consent.consented = channel is not None
    consent.channel, consent.address = channel, address
    consent.recorded_by, consent.changed_at = actor.sub, now
    consent.version += 1
    action = "consent_reminders" if consent.consented else "withdraw_reminders"
    AUDIT.record(uow.session, actor, action, "reminder_consent", client.id, client.id)
    uow.publish(
        ReminderConsentChanged(
            client_id=client.id,
            consented=consent.consented,
            channel=channel,
            address=address,
            version=consent.version,
            changed_at=now,
        )
    )
    return consent


def consent_to_reminders(
    uow: UnitOfWork, actor: Principal, client_id: str, body: Mapping[str, Any], now: datetime
) -> ReminderConsent:
    """Record (or change) the client's consent and contact preference for reminders."""
    return _change(uow, actor, client_id, now, channel=body["channel"], address=body["address"])


def withdraw_reminders(
    uow: UnitOfWork, actor: Principal, client_id: str, now: datetime
) -> ReminderConsent:
    """The client no longer wants reminders: the address is forgotten here and in notifications."""
    return _change(uow, actor, client_id, now, channel=None, address=None)


def read_reminder_consent(uow: UnitOfWork, actor: Principal, client_id: str) -> ReminderConsent:
    client = load_client(uow, actor, client_id)
    consent = uow.session.get(ReminderConsent, client.id)
    if consent is None:
        raise NotFound(f"Client {client.reference} has never been asked about reminders.")
    AUDIT.record(uow.session, actor, "read", "reminder_consent", client.id, client.id)
    return consent
