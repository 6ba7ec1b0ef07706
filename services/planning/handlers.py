"""Events the planning service consumes, each mapped to a plain function (routing key -> handler).
The runtime hands each one the review policy and the clock built once in ``app.py``."""

from __future__ import annotations

from collections.abc import Callable

from services.planning import operations
from services.planning.events import ClientErased
from services.planning.models import ERASURES, Base
from services.planning.settings import ReviewPolicy
from shared.clock import Clock
from shared.contracts import REGISTRY, Event
from shared.retention import retention_expired_handler
from shared.unit_of_work import UnitOfWork

PlanningHandler = Callable[..., None]


def on_assessment_completed(
    event: Event, uow: UnitOfWork, *, settings: ReviewPolicy, clock: Clock
) -> None:
    operations.draft_from_assessment(uow, event.data, clock.now())


def on_case_assigned(
    event: Event, uow: UnitOfWork, *, settings: ReviewPolicy, clock: Clock
) -> None:
    operations.record_assignment(uow, event.data)


def on_case_manager_updated(
    event: Event, uow: UnitOfWork, *, settings: ReviewPolicy, clock: Clock
) -> None:
    operations.record_team_change(uow, event.data)


def on_risk_flagged(event: Event, uow: UnitOfWork, *, settings: ReviewPolicy, clock: Clock) -> None:
    operations.respond_to_high_risk(uow, event.data, settings, clock.today())
    operations.open_from_high_risk(uow, event.data)


def on_client_discharged(
    event: Event, uow: UnitOfWork, *, settings: ReviewPolicy, clock: Clock
) -> None:
    operations.close_on_discharge(uow, REGISTRY.load(event.type, event.data), clock.now(), settings)


def on_referral_status_changed(
    event: Event, uow: UnitOfWork, *, settings: ReviewPolicy, clock: Clock
) -> None:
    operations.record_referral_status(uow, REGISTRY.load(event.type, event.data), clock.today())


def on_referral_overdue(
    event: Event, uow: UnitOfWork, *, settings: ReviewPolicy, clock: Clock
) -> None:
    operations.task_for_referral(
        uow, REGISTRY.load(event.type, event.data), "overdue", clock.today()
    )


def on_consent_granted(
    event: Event, uow: UnitOfWork, *, settings: ReviewPolicy, clock: Clock
) -> None:
    operations.record_consent(
        uow, REGISTRY.load(event.type, event.data), clock.today(), revoked=False
    )


def on_consent_revoked(
    event: Event, uow: UnitOfWork, *, settings: ReviewPolicy, clock: Clock
) -> None:
    operations.record_consent(
        uow, REGISTRY.load(event.type, event.data), clock.today(), revoked=True
    )


def on_reassessment_due(
    event: Event, uow: UnitOfWork, *, settings: ReviewPolicy, clock: Clock
) -> None:
    operations.task_for_reassessment(uow, REGISTRY.load(event.type, event.data))


def on_emergency_access_granted(
    event: Event, uow: UnitOfWork, *, settings: ReviewPolicy, clock: Clock
) -> None:
    operations.record_emergency_grant(uow, event.data)


EVENT_HANDLERS: dict[str, PlanningHandler] = {
    "intake.client.retention_expired.v1": retention_expired_handler(
        Base.metadata, ERASURES, ClientErased
    ),
    "intake.access.emergency_granted.v1": on_emergency_access_granted,
    "intake.reassessment.due.v1": on_reassessment_due,
    "referrals.referral.status_changed.v1": on_referral_status_changed,
    "referrals.referral.overdue.v1": on_referral_overdue,
    "intake.consent.granted.v1": on_consent_granted,
    "intake.consent.revoked.v1": on_consent_revoked,
    "intake.assessment.completed.v1": on_assessment_completed,
    "intake.case.assigned.v1": on_case_assigned,
    "intake.case_manager.updated.v1": on_case_manager_updated,
    "intake.risk.flagged.v1": on_risk_flagged,
    "intake.client.discharged.v1": on_client_discharged,
}
