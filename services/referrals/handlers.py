"""Events the referrals service consumes, each mapped to a plain function (routing key -> handler)."""

from __future__ import annotations

from services.referrals import operations
from shared.contracts import Event
from shared.db import utc_now
from shared.messaging.consumer import Handler
from shared.unit_of_work import UnitOfWork


def on_consent_granted(event: Event, uow: UnitOfWork) -> None:
    operations.record_consent(uow, event.data)


def on_consent_revoked(event: Event, uow: UnitOfWork) -> None:
    operations.record_revocation(uow, event.data, utc_now())


def on_case_assigned(event: Event, uow: UnitOfWork) -> None:
    operations.record_assignment(uow, event.data)


def on_case_manager_updated(event: Event, uow: UnitOfWork) -> None:
    operations.record_team_change(uow, event.data)


def on_client_discharged(event: Event, uow: UnitOfWork) -> None:
    operations.record_discharge(uow, event.data, utc_now())


def on_referral_requested(event: Event, uow: UnitOfWork) -> None:
    operations.draft_from_strategy(uow, event.data, utc_now())


EVENT_HANDLERS: dict[str, Handler] = {
    "intake.consent.granted.v1": on_consent_granted,
    "intake.consent.revoked.v1": on_consent_revoked,
    "intake.case.assigned.v1": on_case_assigned,
    "intake.case_manager.updated.v1": on_case_manager_updated,
    "intake.client.discharged.v1": on_client_discharged,
    "planning.strategy.referral_requested.v1": on_referral_requested,
}
