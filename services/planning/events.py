"""Typed constructors of the events planning publishes (contracts in shared/contracts/planning.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from shared.contracts.typed import TypedEvent


@dataclass(frozen=True)
class PlanCreated(TypedEvent):
    TYPE = "casehub.planning.plan.created.v1"
    plan_id: str
    client_id: str
    client_reference: str
    episode_id: str
    owner_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class PlanApproved(TypedEvent):
    TYPE = "casehub.planning.plan.approved.v1"
    plan_id: str
    client_id: str
    episode_id: str
    version: int
    owner_id: str | None
    approved_at: datetime
    next_review_due: date


@dataclass(frozen=True)
class PlanReviewed(TypedEvent):
    TYPE = "casehub.planning.plan.reviewed.v1"
    plan_id: str
    client_id: str
    episode_id: str
    review_id: str | None
    version: int
    reviewed_at: datetime


@dataclass(frozen=True)
class ReferralRequested(TypedEvent):
    TYPE = "casehub.planning.strategy.referral_requested.v1"
    plan_id: str
    client_id: str
    episode_id: str
    client_reference: str
    goal_id: str
    strategy_id: str
    domain: str
    partner_service_id: str | None
    requested_by: str
    requested_at: datetime


@dataclass(frozen=True)
class PlanClosed(TypedEvent):
    TYPE = "casehub.planning.plan.closed.v1"
    plan_id: str
    client_id: str
    episode_id: str
    reason: str
    closed_at: datetime


@dataclass(frozen=True)
class GoalAchieved(TypedEvent):
    TYPE = "casehub.planning.goal.achieved.v1"
    plan_id: str
    client_id: str
    episode_id: str
    goal_id: str
    domain: str
    achieved_at: datetime


@dataclass(frozen=True)
class ReviewDue(TypedEvent):
    TYPE = "casehub.planning.review.due.v1"
    review_id: str
    plan_id: str
    client_id: str
    episode_id: str
    due_on: date
    case_manager_id: str | None


@dataclass(frozen=True)
class ReviewScheduled(TypedEvent):
    TYPE = "casehub.planning.review.scheduled.v1"
    review_id: str
    plan_id: str
    client_id: str
    episode_id: str
    due_on: date
    reason: str


@dataclass(frozen=True)
class ClientErased(TypedEvent):
    """What retention erased here, reported back to intake."""

    TYPE = "casehub.planning.client.erased.v1"
    client_id: str
    erased_at: datetime
    erased: dict[str, int]


@dataclass(frozen=True)
class ContactRecorded(TypedEvent):
    TYPE = "casehub.planning.contact.recorded.v1"
    client_id: str
    client_reference: str
    episode_id: str
    case_manager_id: str
    contact_id: str
    contact_type: str
    occurred_at: datetime
    duration_minutes: int
    late: bool
    goal_ids: list[str]
    appointment_id: str | None


@dataclass(frozen=True)
class AppointmentScheduled(TypedEvent):
    TYPE = "casehub.planning.appointment.scheduled.v1"
    client_id: str
    client_reference: str
    episode_id: str
    case_manager_id: str
    appointment_id: str
    starts_at: datetime
    duration_minutes: int
    video: bool


@dataclass(frozen=True)
class AppointmentStatusChanged(TypedEvent):
    TYPE = "casehub.planning.appointment.status_changed.v1"
    client_id: str
    client_reference: str
    episode_id: str
    case_manager_id: str
    appointment_id: str
    status: str
    starts_at: datetime
    rescheduled_to_id: str | None
    at: datetime
