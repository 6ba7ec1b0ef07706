"""Events the planning service consumes, each mapped to a plain function (routing key -> handler)."""

from __future__ import annotations

from services.planning import operations
from shared.clock import agency_today
from shared.contracts import Event
from shared.messaging.consumer import Handler
from shared.unit_of_work import UnitOfWork


def on_assessment_completed(event: Event, uow: UnitOfWork) -> None:
    operations.draft_from_assessment(uow, event.data)


def on_case_assigned(event: Event, uow: UnitOfWork) -> None:
    operations.record_assignment(uow, event.data)


def on_case_manager_updated(event: Event, uow: UnitOfWork) -> None:
    operations.record_team_change(uow, event.data)


def on_risk_flagged(event: Event, uow: UnitOfWork) -> None:
    operations.respond_to_high_risk(
        uow, event.data, operations.ReviewPolicy.from_env(), agency_today()
    )


def on_client_discharged(event: Event, uow: UnitOfWork) -> None:
    operations.close_on_discharge(uow, event.data)


def on_referral_status_changed(event: Event, uow: UnitOfWork) -> None:
    operations.record_referral_status(uow, event.data)


EVENT_HANDLERS: dict[str, Handler] = {
    "referrals.referral.status_changed.v1": on_referral_status_changed,
    "intake.assessment.completed.v1": on_assessment_completed,
    "intake.case.assigned.v1": on_case_assigned,
    "intake.case_manager.updated.v1": on_case_manager_updated,
    "intake.risk.flagged.v1": on_risk_flagged,
    "intake.client.discharged.v1": on_client_discharged,
}
