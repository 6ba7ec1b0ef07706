"""Request and response bodies of the intake API (marshmallow; documented in OpenAPI)."""

from __future__ import annotations

from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.intake.domain import (
    LIFE_DOMAINS,
    DataCategory,
    DuplicateOutcome,
    NeedRating,
    birth_date_problem,
)
from shared.clock import EARLIEST_DAY, agency_today
from shared.contracts.intake import REQUEST_OUTCOMES
from shared.web.fields import Day
from shared.web.paging import CursorPage, PageArgs

CATEGORIES = [category.value for category in DataCategory]
RELATIONSHIPS = ("family", "carer", "advocate", "friend", "other")
NAME = validate.Length(min=1, max=100)


class Contact(Schema):
    phone = fields.String(validate=validate.Length(max=50), allow_none=True)
    email = fields.Email(allow_none=True)
    address = fields.String(validate=validate.Length(max=500), allow_none=True)


class NominatedPersonIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    relationship_to_client = fields.String(required=True, validate=validate.OneOf(RELATIONSHIPS))
    phone = fields.String(validate=validate.Length(max=50), allow_none=True)
    email = fields.Email(allow_none=True)
    may_be_told = fields.List(
        fields.String(validate=validate.OneOf(CATEGORIES)),
        load_default=list,
        metadata={"description": "Categories of information this person may be told."},
    )


class NominatedPersonOut(NominatedPersonIn):
    id = fields.String()


def programme_field() -> fields.String:
    """The programme the episode belongs to (reports group by it); omitted keeps the current."""
    return fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=100),
        metadata={"example": "intensive-case-management"},
    )


BIRTH_DESCRIPTION = "From 1900-01-01 to today (the agency's date); any other day is a 422."


def _plausible_birth(born: date) -> None:
    problem = birth_date_problem(born, agency_today(), EARLIEST_DAY)
    if problem:
        raise ValidationError(problem)


class ClientIn(Schema):
    given_name = fields.String(required=True, validate=NAME, metadata={"example": "Alex"})
    family_name = fields.String(required=True, validate=NAME, metadata={"example": "Rivera"})
    date_of_birth = Day(
        required=True,
        validate=_plausible_birth,
        metadata={"example": "1988-04-12", "description": BIRTH_DESCRIPTION},
    )
    external_id = fields.String(validate=validate.Length(max=100), allow_none=True)
    preferred_language = fields.String(validate=validate.Length(max=50), allow_none=True)
    contact = fields.Nested(Contact, load_default=dict)
    advance_statement = fields.String(
        validate=validate.Length(max=10_000),
        allow_none=True,
        metadata={"description": "The client's own statement of preferences for future care."},
    )
    nominated_persons = fields.List(fields.Nested(NominatedPersonIn), load_default=list)
    programme = programme_field()
    confirmed_not_duplicate = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Register even though a client with this name and date of birth exists."
        },
    )


class ClientPatch(Schema):
    given_name = fields.String(validate=NAME)
    family_name = fields.String(validate=NAME)
    date_of_birth = Day(validate=_plausible_birth, metadata={"description": BIRTH_DESCRIPTION})
    external_id = fields.String(validate=validate.Length(max=100), allow_none=True)
    preferred_language = fields.String(validate=validate.Length(max=50), allow_none=True)
    contact = fields.Nested(Contact)
    advance_statement = fields.String(validate=validate.Length(max=10_000), allow_none=True)


class EpisodeOut(Schema):
    id = fields.String()
    number = fields.Integer()
    status = fields.String()
    programme = fields.String(allow_none=True)
    opened_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    discharge_reason = fields.String(allow_none=True)
    case_manager_id = fields.String(allow_none=True)
    next_review_due = fields.Date(allow_none=True)


class ClientOut(Schema):
    id = fields.String()
    reference = fields.String(metadata={"example": "C-1042"})
    status = fields.String()
    given_name = fields.String()
    family_name = fields.String()
    date_of_birth = fields.Date()
    external_id = fields.String(allow_none=True)
    preferred_language = fields.String(allow_none=True)
    contact = fields.Nested(Contact)
    advance_statement = fields.String(allow_none=True)
    case_manager_id = fields.String(allow_none=True)
    merged_into_id = fields.String(
        allow_none=True,
        metadata={"description": "Set when a duplicate review merged this record into that one."},
    )
    episodes = fields.List(fields.Nested(EpisodeOut))
    nominated_persons = fields.List(fields.Nested(NominatedPersonOut))
    registered_by = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ClientSearchArgs(PageArgs):
    reference = fields.String(
        validate=validate.Length(min=1, max=20),
        metadata={
            "description": "Exactly this client reference (alerts name only the reference).",
            "example": "C-1042",
        },
    )
    name = fields.String(validate=validate.Length(min=1, max=100))
    date_of_birth = Day()
    external_id = fields.String(validate=validate.Length(max=100))


class ClientPage(CursorPage):
    items = fields.List(fields.Nested(ClientOut))


class DischargeIn(Schema):
    reason_code = fields.String(
        required=True,
        validate=validate.OneOf(
            ("goals_met", "moved_away", "transferred", "declined_service", "deceased", "other")
        ),
    )


class ConsentIn(Schema):
    organization_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    categories = fields.List(
        fields.String(validate=validate.OneOf(CATEGORIES)),
        required=True,
        validate=validate.Length(min=1),
    )
    starts_on = Day(required=True)
    expires_on = Day(load_default=None, allow_none=True)


class ConsentOut(ConsentIn):
    id = fields.String()
    granted_by = fields.String()
    granted_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    revocation_reason = fields.String(allow_none=True)
    in_force = fields.Boolean()


class RevokeIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class DomainRating(Schema):
    rating = fields.Enum(NeedRating, by_value=True, required=True)
    notes = fields.String(validate=validate.Length(max=5_000), allow_none=True)


class InstrumentItems(Schema):
    items = fields.List(
        fields.Raw(),
        required=True,
        metadata={"description": "One answer per item, 0 to 3, in order."},
    )


class CssrsIn(Schema):
    wish_to_be_dead = fields.Boolean(required=True)
    suicidal_thoughts = fields.Boolean(required=True)
    method = fields.Boolean(load_default=None, allow_none=True)
    intent = fields.Boolean(load_default=None, allow_none=True)
    plan_with_intent = fields.Boolean(load_default=None, allow_none=True)
    behaviour_ever = fields.Boolean(load_default=False)
    behaviour_past_3_months = fields.Boolean(load_default=None, allow_none=True)


class AssessmentIn(Schema):
    domains = fields.Dict(
        keys=fields.String(validate=validate.OneOf(LIFE_DOMAINS)),
        values=fields.Nested(DomainRating),
        required=True,
        validate=validate.Length(min=1),
        metadata={"example": {"housing": {"rating": "unmet_need", "notes": "sofa-surfing"}}},
    )
    phq9 = fields.Nested(
        InstrumentItems,
        allow_none=True,
        metadata={"example": {"items": [1, 2, 1, 0, 2, 1, 1, 0, 0]}},
    )
    gad7 = fields.Nested(InstrumentItems, allow_none=True)
    cssrs = fields.Nested(CssrsIn, allow_none=True)


class AssessmentOut(Schema):
    id = fields.String()
    client_id = fields.String()
    episode_id = fields.String()
    version = fields.Integer()
    supersedes_id = fields.String(allow_none=True)
    superseded_by_id = fields.String(allow_none=True)
    domains = fields.Dict()
    unmet_needs = fields.List(fields.String())
    phq9 = fields.Dict(allow_none=True)
    gad7 = fields.Dict(allow_none=True)
    cssrs = fields.Dict(allow_none=True)
    risk_level = fields.String()
    risk_reasons = fields.List(fields.String())
    cssrs_screen_needed = fields.Boolean()
    risk_flag_id = fields.String(allow_none=True)
    assessed_by = fields.String()
    completed_at = fields.DateTime()


class RiskFlagOut(Schema):
    id = fields.String()
    client_id = fields.String()
    assessment_id = fields.String()
    level = fields.String()
    reasons = fields.List(fields.String())
    status = fields.String()
    opened_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    resolution_note = fields.String(allow_none=True)


class ResolveIn(Schema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=5_000))


class CaseManagerIn(Schema):
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    team = fields.String(required=True, validate=validate.Length(min=1, max=100))
    supervisor_id = fields.String(load_default=None, allow_none=True)
    caseload_cap = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    active = fields.Boolean(load_default=True)


class CaseManagerOut(CaseManagerIn):
    id = fields.String()
    active_clients = fields.Integer()
    open_risk_flags = fields.Integer()


class TeamArgs(PageArgs):
    team = fields.String()


class CaseManagerPage(CursorPage):
    items = fields.List(fields.Nested(CaseManagerOut))


class AssignmentIn(Schema):
    case_manager_id = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "Omit to choose automatically in `team`."},
    )
    team = fields.String(load_default=None, allow_none=True)
    programme = programme_field()
    override_reason = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=500),
        metadata={"description": "Supervisor only: why the case manager's cap may be exceeded."},
    )


class AssignmentOut(Schema):
    client_id = fields.String()
    episode_id = fields.String()
    case_manager_id = fields.String()
    method = fields.String()
    over_cap = fields.Boolean()
    override_reason = fields.String(allow_none=True)
    assigned_by = fields.String()
    assigned_at = fields.DateTime()


class CaseloadClient(Schema):
    """The client as a caseload lists them; the full record is ``GET /clients/{id}``."""

    id = fields.String()
    reference = fields.String(metadata={"example": "C-1042"})
    status = fields.String()
    given_name = fields.String()
    family_name = fields.String()
    date_of_birth = fields.Date()
    preferred_language = fields.String(allow_none=True)
    case_manager_id = fields.String(allow_none=True)


class CaseloadEntry(Schema):
    client = fields.Nested(CaseloadClient)
    highest_open_risk = fields.String(allow_none=True)
    open_risk_flags = fields.Integer()
    next_review_due = fields.Date(allow_none=True)
    last_contact_at = fields.DateTime(
        allow_none=True,
        metadata={
            "description": "When the latest contact recorded in planning for the client's open "
            "episode happened (null: none yet)."
        },
    )


class DuplicateReviewArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(("open", "resolved")))


class DuplicateReviewOut(Schema):
    id = fields.String()
    new_client_id = fields.String(metadata={"description": "The record registered later."})
    new_client_reference = fields.String()
    existing_client_id = fields.String()
    existing_client_reference = fields.String()
    status = fields.String(metadata={"description": "open or resolved"})
    flagged_by = fields.String(metadata={"description": "Who registered the new record."})
    flagged_at = fields.DateTime()
    outcome = fields.String(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    resolution_note = fields.String(allow_none=True)


class DuplicateReviewPage(CursorPage):
    items = fields.List(fields.Nested(DuplicateReviewOut))


class DuplicateResolveIn(Schema):
    outcome = fields.Enum(
        DuplicateOutcome,
        by_value=True,
        required=True,
        metadata={
            "description": "merged: one person (the newer record is closed as a duplicate of the "
            "older); distinct: two people."
        },
    )
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class CaseloadPage(CursorPage):
    items = fields.List(fields.Nested(CaseloadEntry))


class ConsentPage(CursorPage):
    items = fields.List(fields.Nested(ConsentOut))


class AssessmentPage(CursorPage):
    items = fields.List(fields.Nested(AssessmentOut))


class RiskFlagPage(CursorPage):
    items = fields.List(fields.Nested(RiskFlagOut))


class ReferralRequestArgs(PageArgs):
    status = fields.String(
        validate=validate.OneOf(("new", *REQUEST_OUTCOMES)),
        metadata={"description": "Only requests in this state (`new`: still to be worked)."},
    )


class ReferralRequestDecisionIn(Schema):
    outcome = fields.String(
        required=True,
        validate=validate.OneOf(REQUEST_OUTCOMES),
        metadata={
            "description": "registered: a new client was registered from it; matched: it is a "
            "known client; declined: the agency will not take it (give a reason)."
        },
    )
    client_id = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=36),
        metadata={"description": "The client it became (registered or matched)."},
    )
    reason = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=1000),
        metadata={"description": "Why it is declined: the partner reads this."},
    )


class ReferralRequestOut(Schema):
    id = fields.String()
    organization_id = fields.String(metadata={"description": "The partner that referred."})
    client_reference = fields.String(allow_none=True)
    given_name = fields.String()
    family_name = fields.String()
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    reason = fields.String()
    domains = fields.List(fields.String())
    related_referral_id = fields.String(allow_none=True)
    received_at = fields.DateTime()
    status = fields.String(metadata={"description": "new, registered, matched or declined"})
    decided_at = fields.DateTime(allow_none=True)
    decided_by = fields.String(allow_none=True)
    client_id = fields.String(allow_none=True)
    decision_reason = fields.String(allow_none=True)


class ReferralRequestPage(CursorPage):
    items = fields.List(fields.Nested(ReferralRequestOut))


class OutcomeArgs(Schema):
    episode_id = fields.String(
        load_default=None,
        validate=validate.Length(max=36),
        metadata={"description": "An earlier episode (default: the current one)."},
    )


class ScorePoint(Schema):
    assessment_id = fields.String()
    taken_at = fields.DateTime()
    total = fields.Integer()
    severity = fields.String()
    change_from_baseline = fields.Integer(allow_none=True)


class InstrumentOutcome(Schema):
    """Baseline = the episode's first score, latest = its last; change = latest - baseline.
    Reliable change: PHQ-9 6 points, GAD-7 4 (improved / deteriorated / unchanged). Response
    (a fall of at least 50 %) and remission (latest below 5) only for a baseline of 10 or more."""

    series = fields.List(fields.Nested(ScorePoint))
    baseline = fields.Integer(allow_none=True)
    latest = fields.Integer(allow_none=True)
    change = fields.Integer(allow_none=True)
    reliable_change = fields.String(allow_none=True)
    response = fields.Boolean(allow_none=True)
    remission = fields.Boolean(allow_none=True)


class OutcomesOut(Schema):
    client_id = fields.String()
    episode_id = fields.String()
    phq9 = fields.Nested(InstrumentOutcome)
    gad7 = fields.Nested(InstrumentOutcome)
    next_reassessment_due = fields.Date(
        allow_none=True,
        metadata={"description": "90 days after the latest assessment; 30 after high risk."},
    )
    reassessment_reason = fields.String(allow_none=True)


#: An E.164 number (``+`` and up to 15 digits), the form SMS gateways take.
E164 = validate.Regexp(
    r"^\+[1-9][0-9]{6,14}$", error="Give the number in E.164 form, e.g. +15550142."
)


class ReminderConsentIn(Schema):
    """The client agreed to appointment reminders, and how to reach them."""

    channel = fields.String(
        required=True,
        validate=validate.OneOf(("email", "sms")),
        metadata={"description": "How the client wants reminders: e-mail or SMS."},
    )
    address = fields.String(
        required=True,
        validate=validate.Length(min=3, max=254),
        metadata={
            "description": "An e-mail address for ``email``, an E.164 phone number for ``sms``.",
            "example": "+15550142",
        },
    )

    @validates_schema
    def _address_fits_channel(self, data: dict[str, object], **_: object) -> None:
        address = str(data.get("address") or "")
        if data.get("channel") == "sms":
            E164(address)
        else:
            try:
                validate.Email()(address)
            except ValidationError as error:
                raise ValidationError(error.messages, "address") from None


class ReminderConsentOut(Schema):
    client_id = fields.String()
    consented = fields.Boolean(
        metadata={"description": "False once withdrawn: no reminder reaches the client."}
    )
    channel = fields.String(allow_none=True, metadata={"example": "sms"})
    address = fields.String(allow_none=True, metadata={"example": "+15550142"})
    recorded_by = fields.String(metadata={"description": "Who recorded the consent or withdrawal."})
    changed_at = fields.DateTime()
    version = fields.Integer()


class ClientRecordOut(Schema):
    """What a client record screen shows, in one audited read. Each list is its first page,
    oldest first: a ``next_cursor`` continues it at the list's own endpoint."""

    client = fields.Nested(ClientOut)
    consents = fields.Nested(ConsentPage)
    assessments = fields.Nested(AssessmentPage)
    risk_flags = fields.Nested(RiskFlagPage)
    reminder_consent = fields.Nested(
        ReminderConsentOut,
        allow_none=True,
        metadata={"description": "null when the client was never asked about reminders."},
    )
