"""Request and response bodies of the planning API (marshmallow; documented in OpenAPI)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.planning.casework_domain import (
    CRISIS_ACTIONS,
    CRISIS_OUTCOMES,
)
from services.planning.domain import (
    SAFETY_PLAN_SECTIONS,
    Attainment,
    GoalStatus,
    Responsible,
    StrategyType,
)
from shared.contracts.intake import LIFE_DOMAINS
from shared.web.fields import Day, Moment
from shared.web.paging import CursorPage, PageArgs

TEXT = validate.Length(min=1, max=2_000)


class GoalIn(Schema):
    domain = fields.String(required=True, validate=validate.OneOf(LIFE_DOMAINS))
    in_own_words = fields.String(
        required=True, validate=TEXT, metadata={"description": "The client's own words."}
    )
    measurable_target = fields.String(required=True, validate=TEXT)
    target_date = Day(load_default=None, allow_none=True)


class GoalPatch(Schema):
    in_own_words = fields.String(validate=TEXT)
    measurable_target = fields.String(validate=TEXT)
    target_date = Day(allow_none=True)
    status = fields.Enum(GoalStatus, by_value=True)


class StrategyIn(Schema):
    description = fields.String(required=True, validate=TEXT)
    type = fields.Enum(StrategyType, by_value=True, load_default=StrategyType.ACTION)
    responsible = fields.Enum(Responsible, by_value=True, required=True)
    due_by = Day(load_default=None, allow_none=True)
    partner_service_id = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=100)
    )


class StrategyOut(Schema):
    id = fields.String()
    description = fields.String()
    type = fields.String()
    responsible = fields.String()
    due_by = fields.String(allow_none=True)
    partner_service_id = fields.String(allow_none=True)


class GoalOut(Schema):
    id = fields.String()
    domain = fields.String()
    in_own_words = fields.String()
    measurable_target = fields.String()
    target_date = fields.String(allow_none=True)
    status = fields.String()
    strategies = fields.List(fields.Nested(StrategyOut))


SafetyPlanIn = Schema.from_dict(
    {
        section: fields.List(
            fields.String(validate=validate.Length(min=1, max=500)), load_default=list
        )
        for section in SAFETY_PLAN_SECTIONS
    },
    name="SafetyPlanIn",
)


class ContentOut(Schema):
    goals = fields.List(fields.Nested(GoalOut))
    safety_plan = fields.Dict(
        keys=fields.String(), values=fields.List(fields.String()), allow_none=True
    )


class VersionOut(Schema):
    number = fields.Integer()
    status = fields.String()
    content = fields.Nested(ContentOut)
    created_at = fields.DateTime()
    created_by = fields.String()
    approved_at = fields.DateTime(allow_none=True)
    approved_by = fields.String(allow_none=True)
    agreement = fields.Dict(allow_none=True)


class SuggestedChangeOut(Schema):
    """A reassessment's new unmet need, waiting for the plan's next review."""

    id = fields.String()
    assessment_id = fields.String(metadata={"description": "The assessment that found the need."})
    domain = fields.String(metadata={"example": "housing"})
    kind = fields.String(
        metadata={"description": "new_unmet_need: rated unmet need, no goal covers it."}
    )
    status = fields.String(
        metadata={
            "description": "open (decide it at the next review), taken_up (a draft goal now) "
            "or dismissed (with the reason)."
        }
    )
    suggested_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    decided_by = fields.String(allow_none=True)
    dismiss_reason = fields.String(allow_none=True)
    goal_id = fields.String(
        allow_none=True, metadata={"description": "The draft goal it became when taken up."}
    )


class DismissIn(Schema):
    reason = fields.String(
        required=True,
        validate=validate.Length(min=3, max=500),
        metadata={"example": "Housing is stable; the client declines support with it for now."},
    )


class PlanOut(Schema):
    id = fields.String()
    client_id = fields.String()
    client_reference = fields.String()
    episode_id = fields.String()
    status = fields.String()
    allowed_transitions = fields.List(fields.String())
    owner_id = fields.String(allow_none=True)
    supervisor_id = fields.String(allow_none=True)
    safety_plan_required = fields.Boolean()
    latest_assessment_id = fields.String(allow_none=True)
    current_version = fields.Integer()
    approved_version = fields.Integer(allow_none=True)
    next_review_due = fields.Date(allow_none=True)
    created_at = fields.DateTime()
    approved_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    close_reason = fields.String(allow_none=True)
    working_version = fields.Nested(VersionOut)
    strategy_referrals = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "Referral strategy id -> the referral's status at the partner."},
    )
    suggested_changes = fields.List(
        fields.Nested(SuggestedChangeOut),
        metadata={
            "description": "What reassessments of the approved plan suggest (open ones first); "
            "each is taken up or dismissed at the next review, which cannot be approved before."
        },
    )


class PlanArgs(PageArgs):
    client_id = fields.String()
    status = fields.String(validate=validate.OneOf(("draft", "active", "under_review", "closed")))


class AgreementIn(Schema):
    client_agreed = fields.Boolean(
        required=True, validate=validate.Equal(True, error="the client must agree to the plan")
    )
    method = fields.String(
        required=True, validate=validate.OneOf(("signed", "verbal", "electronic"))
    )
    present = fields.List(
        fields.String(validate=validate.Length(min=1, max=200)),
        required=True,
        validate=validate.Length(min=1),
        metadata={"description": "Who was present."},
    )
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2_000))


class CloseIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=100))


class CompareArgs(Schema):
    older = fields.Integer(required=True, validate=validate.Range(min=1), metadata={"example": 1})
    newer = fields.Integer(required=True, validate=validate.Range(min=1), metadata={"example": 2})


class ComparisonOut(Schema):
    goals_added = fields.List(fields.String())
    goals_removed = fields.List(fields.String())
    goals_changed = fields.List(fields.Dict())
    strategies_added = fields.List(fields.String())
    strategies_removed = fields.List(fields.String())
    safety_plan_changed = fields.Boolean()


class ProgressNoteIn(Schema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=5_000))
    attainment = fields.Enum(
        Attainment,
        by_value=True,
        required=True,
        metadata={"description": "Goal Attainment Scaling, -2 (much less) to +2 (much more)."},
    )
    achieved = fields.Boolean(load_default=False)


class ProgressNoteOut(Schema):
    id = fields.String()
    goal_id = fields.String()
    note = fields.String()
    attainment = fields.Integer()
    achieved = fields.Boolean()
    written_by = fields.String()
    written_at = fields.DateTime()


class OverdueReviewOut(Schema):
    review_id = fields.String()
    plan_id = fields.String()
    client_id = fields.String()
    client_reference = fields.String()
    owner_id = fields.String(allow_none=True)
    due_on = fields.Date()
    reason = fields.String()
    open_suggested_changes = fields.Integer(
        metadata={"description": "Suggested changes this review must take up or dismiss."}
    )


class PlanPage(CursorPage):
    items = fields.List(fields.Nested(PlanOut))


class VersionPage(CursorPage):
    items = fields.List(fields.Nested(VersionOut))


class ProgressNotePage(CursorPage):
    items = fields.List(fields.Nested(ProgressNoteOut))


class OverdueReviewPage(CursorPage):
    items = fields.List(fields.Nested(OverdueReviewOut))


class CrisisPictureOut(Schema):
    """Planning's part of the crisis picture: the safety plan and whom to call."""

    client_id = fields.String()
    client_reference = fields.String(allow_none=True)
    grant_id = fields.String()
    expires_at = fields.DateTime()
    plan_id = fields.String(allow_none=True)
    plan_status = fields.String(allow_none=True)
    safety_plan = fields.Dict(
        keys=fields.String(), values=fields.List(fields.String()), allow_none=True
    )
    safety_plan_sections = fields.List(fields.String())
    crisis_contacts = fields.List(fields.String())


class CrisisActionOut(Schema):
    action = fields.String()
    by = fields.String()
    at = fields.String()


class FollowUpOut(Schema):
    """A crisis follow-up: a task on its case manager's worklist (``/me/worklist``, same id)."""

    id = fields.String(metadata={"description": "The task's id (also on /me/worklist)."})
    crisis_episode_id = fields.String()
    client_id = fields.String()
    kind = fields.String(
        attribute="follow_up_kind",
        metadata={"description": "contact_within_24h or contact_within_72h"},
    )
    due_at = fields.DateTime()
    assignee_id = fields.String(attribute="owner_id", allow_none=True)
    status = fields.String(metadata={"description": "open, done or dismissed (with a reason)"})
    done_at = fields.DateTime(attribute="closed_at", allow_none=True)
    done_by = fields.String(attribute="closed_by", allow_none=True)


class CrisisEpisodeOut(Schema):
    id = fields.String()
    client_id = fields.String()
    client_reference = fields.String()
    episode_id = fields.String()
    source = fields.String(metadata={"description": "risk_flag or hospital_discharge"})
    status = fields.String()
    opened_at = fields.DateTime()
    actions = fields.List(fields.Nested(CrisisActionOut))
    outcome = fields.String(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    closed_by = fields.String(allow_none=True)
    close_note = fields.String(allow_none=True)
    follow_ups = fields.List(fields.Nested(FollowUpOut))


class CrisisEpisodePage(CursorPage):
    items = fields.List(fields.Nested(CrisisEpisodeOut))


class FollowUpPage(CursorPage):
    items = fields.List(fields.Nested(FollowUpOut))


class FollowUpArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(("open", "done", "dismissed")))


class CrisisActionIn(Schema):
    action = fields.String(required=True, validate=validate.OneOf(CRISIS_ACTIONS))


class CrisisCloseIn(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(CRISIS_OUTCOMES))
    note = fields.String(required=True, validate=validate.Length(min=1, max=5_000))


class HospitalDischargeIn(Schema):
    discharged_at = Moment(required=True, metadata={"description": "When the client left hospital"})
