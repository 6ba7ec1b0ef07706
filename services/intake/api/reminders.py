"""HTTP in and out for the client's consent to appointment reminders."""

from __future__ import annotations

from typing import Any

from services.intake.api.common import STAFF, request_now, request_uow
from services.intake.operations import reminders
from services.intake.schemas import ReminderConsentIn, ReminderConsentOut
from shared.web import current_principal, require_roles
from shared.web.query import Blueprint

reminders_bp = Blueprint(
    "reminder_consent",
    __name__,
    url_prefix="/clients",
    description="The client's consent to appointment reminders and how to reach them",
)


@reminders_bp.route("/<client_id>/reminder-consent", methods=["PUT"])
@require_roles(*STAFF)
@reminders_bp.arguments(ReminderConsentIn, example={"channel": "sms", "address": "+15550142"})
@reminders_bp.response(200, ReminderConsentOut)
def consent_to_reminders(body: dict[str, Any], client_id: str) -> Any:
    """Record that the client consents to appointment reminders by e-mail or SMS (the text
    holds the time only: no place, no clinical detail)."""
    with request_uow() as uow:
        return reminders.consent_to_reminders(
            uow, current_principal(), client_id, body, request_now()
        )


@reminders_bp.route("/<client_id>/reminder-consent", methods=["DELETE"])
@require_roles(*STAFF)
@reminders_bp.response(200, ReminderConsentOut)
def withdraw_reminders(client_id: str) -> Any:
    """The client withdraws consent: no further reminder reaches them, from now on."""
    with request_uow() as uow:
        return reminders.withdraw_reminders(uow, current_principal(), client_id, request_now())


@reminders_bp.route("/<client_id>/reminder-consent", methods=["GET"])
@require_roles(*STAFF)
@reminders_bp.response(200, ReminderConsentOut)
@reminders_bp.alt_response(404, description="The client was never asked about reminders.")
def read_reminder_consent(client_id: str) -> Any:
    """Whether the client consents to reminders, and by which channel."""
    with request_uow() as uow:
        return reminders.read_reminder_consent(uow, current_principal(), client_id)
