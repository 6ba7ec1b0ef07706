"""Events the planning service publishes: identifiers, statuses and dates, never goal wording."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.contracts.registry import REGISTRY


class _PlanEvent(Schema):
    plan_id = fields.String(required=True)
    client_id = fields.String(required=True)
    episode_id = fields.String(required=True)


@REGISTRY.register(
    "casehub.planning.plan.created.v1", "A draft service plan was created for an episode."
)
class PlanCreated(_PlanEvent):
    client_reference = fields.String(required=True)
    owner_id = fields.String(load_default=None, allow_none=True)
    created_at = fields.AwareDateTime(required=True)


@REGISTRY.register(
    "casehub.planning.plan.approved.v1", "A plan version was agreed with the client and approved."
)
class PlanApproved(_PlanEvent):
    version = fields.Integer(required=True)
    owner_id = fields.String(load_default=None, allow_none=True)
    approved_at = fields.AwareDateTime(required=True)
    next_review_due = fields.Date(required=True)


@REGISTRY.register(
    "casehub.planning.plan.reviewed.v1", "A plan review was completed (the plan is active again)."
)
class PlanReviewed(_PlanEvent):
    review_id = fields.String(load_default=None, allow_none=True)
    version = fields.Integer(required=True)
    reviewed_at = fields.AwareDateTime(required=True)


@REGISTRY.register(
    "casehub.planning.plan.closed.v1", "The plan was closed (discharge or decision)."
)
class PlanClosed(_PlanEvent):
    reason = fields.String(required=True)
    closed_at = fields.AwareDateTime(required=True)


@REGISTRY.register("casehub.planning.goal.achieved.v1", "A goal of the plan was achieved.")
class GoalAchieved(_PlanEvent):
    goal_id = fields.String(required=True)
    domain = fields.String(required=True)
    achieved_at = fields.AwareDateTime(required=True)


@REGISTRY.register(
    "casehub.planning.strategy.referral_requested.v1",
    "An approved plan asks for a referral to a partner service (the referrals service acts on it).",
)
class StrategyReferralRequested(_PlanEvent):
    client_reference = fields.String(required=True)
    goal_id = fields.String(required=True)
    strategy_id = fields.String(required=True)
    domain = fields.String(required=True)
    partner_service_id = fields.String(load_default=None, allow_none=True)
    requested_by = fields.String(required=True)
    requested_at = fields.AwareDateTime(required=True)


@REGISTRY.register(
    "casehub.planning.review.scheduled.v1",
    "A plan's next review was moved outside an approval (brought forward after a crisis): "
    "the date it is now due.",
)
class ReviewScheduled(Schema):
    review_id = fields.String(required=True)
    plan_id = fields.String(required=True)
    client_id = fields.String(required=True)
    episode_id = fields.String(required=True)
    due_on = fields.Date(required=True)
    reason = fields.String(required=True, metadata={"example": "crisis"})


@REGISTRY.register(
    "casehub.planning.review.due.v1", "A plan review fell due (emitted once per review)."
)
class ReviewDue(Schema):
    review_id = fields.String(required=True)
    plan_id = fields.String(required=True)
    client_id = fields.String(required=True)
    episode_id = fields.String(required=True)
    due_on = fields.Date(required=True)
    case_manager_id = fields.String(load_default=None, allow_none=True)


@REGISTRY.register(
    "casehub.planning.client.erased.v1",
    "The service erased what it held about a client whose retention ran out: rows per kind.",
)
class ClientErasedPlanning(Schema):
    client_id = fields.String(required=True)
    erased_at = fields.AwareDateTime(required=True)
    erased = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class _CaseworkEvent(Schema):
    client_id = fields.String(required=True)
    client_reference = fields.String(required=True)
    episode_id = fields.String(required=True)
    case_manager_id = fields.String(required=True)


CONTACT_TYPES = ("face_to_face", "phone", "video", "home_visit", "outreach", "group", "collateral")


@REGISTRY.register(
    "casehub.planning.contact.recorded.v1",
    "A contact with or about the client was recorded: mode, time, duration, never the note.",
)
class ContactRecorded(_CaseworkEvent):
    contact_id = fields.String(required=True)
    contact_type = fields.String(required=True, validate=validate.OneOf(CONTACT_TYPES))
    occurred_at = fields.AwareDateTime(required=True)
    duration_minutes = fields.Integer(required=True)
    late = fields.Boolean(required=True)
    goal_ids = fields.List(fields.String(), required=True)
    appointment_id = fields.String(load_default=None, allow_none=True)


@REGISTRY.register(
    "casehub.planning.appointment.scheduled.v1",
    "An appointment with the client was booked (reminders are sent from it); no place or names.",
)
class AppointmentScheduled(_CaseworkEvent):
    appointment_id = fields.String(required=True)
    starts_at = fields.AwareDateTime(required=True)
    duration_minutes = fields.Integer(required=True)
    video = fields.Boolean(required=True)


@REGISTRY.register(
    "casehub.planning.appointment.status_changed.v1",
    "An appointment was attended, cancelled, missed (no_show) or rescheduled.",
)
class AppointmentStatusChanged(_CaseworkEvent):
    appointment_id = fields.String(required=True)
    status = fields.String(
        required=True,
        validate=validate.OneOf(("attended", "cancelled", "no_show", "rescheduled")),
    )
    starts_at = fields.AwareDateTime(required=True)
    rescheduled_to_id = fields.String(load_default=None, allow_none=True)
    at = fields.AwareDateTime(required=True)
