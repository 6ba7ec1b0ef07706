"""Events the intake service publishes. Identifiers and the minimum consumers need: no names,
no item answers, no free-text notes (events cross service and organisation boundaries)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared import rules
from shared.contracts.registry import REGISTRY

RISK_LEVELS = ("none", "low", "moderate", "high")
#: The 13 life domains of the needs assessment; ``unmet_needs`` in events are drawn from these.
LIFE_DOMAINS = rules.LIFE_DOMAINS
DATA_CATEGORIES = ("contact_details", "diagnosis", "assessment_summary", "risk_information")
SEVERITIES = ("minimal", "mild", "moderate", "moderately_severe", "severe")


class _ClientEvent(Schema):
    client_id = fields.String(required=True)
    client_reference = fields.String(required=True, metadata={"example": "C-1042"})
    episode_id = fields.String(required=True)
    #: Added after v1 shipped, optional both ways: older events lack it, older consumers skip it.
    programme = fields.String(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "The episode's programme (e.g. housing-first); reports group by it."
        },
    )


@REGISTRY.register(
    "casehub.intake.client.registered.v1", "A client was registered; an episode opened."
)
class ClientRegistered(_ClientEvent):
    registered_by = fields.String(required=True)
    registered_at = fields.AwareDateTime(required=True)


@REGISTRY.register(
    "casehub.intake.client.readmitted.v1", "A discharged client was re-admitted: a new episode."
)
class ClientReadmitted(_ClientEvent):
    previous_episode_id = fields.String(required=True)
    readmitted_at = fields.AwareDateTime(required=True)


@REGISTRY.register(
    "casehub.intake.client.updated.v1", "A client's record changed (names of the fields only)."
)
class ClientUpdated(_ClientEvent):
    changed_fields = fields.List(fields.String(), required=True)
    updated_at = fields.AwareDateTime(required=True)


def _care_version() -> fields.Integer:
    """Counts the changes of who carries the client (assignment, discharge): a projection keeps
    the highest it has seen, so a late or repeated event never undoes a newer one."""
    return fields.Integer(
        load_default=None,
        allow_none=True,
        metadata={"description": "Increases with every change of who carries the client."},
    )


@REGISTRY.register("casehub.intake.client.discharged.v1", "The client's episode was closed.")
class ClientDischarged(_ClientEvent):
    discharged_at = fields.AwareDateTime(required=True)
    reason_code = fields.String(required=True)
    care_version = _care_version()


class _ConsentEvent(Schema):
    consent_id = fields.String(required=True)
    client_id = fields.String(required=True)
    organization_id = fields.String(required=True)
    categories = fields.List(fields.String(validate=validate.OneOf(DATA_CATEGORIES)), required=True)


@REGISTRY.register(
    "casehub.intake.consent.granted.v1", "The client consented to share data with an organisation."
)
class ConsentGranted(_ConsentEvent):
    starts_on = fields.Date(required=True)
    expires_on = fields.Date(load_default=None, allow_none=True)


@REGISTRY.register(
    "casehub.intake.consent.revoked.v1", "A consent stopped counting (revoked or expired)."
)
class ConsentRevoked(_ConsentEvent):
    revoked_at = fields.AwareDateTime(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(("revoked", "expired")))


class InstrumentSummary(Schema):
    total = fields.Integer(required=True)
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES))


@REGISTRY.register(
    "casehub.intake.assessment.completed.v1",
    "An assessment was completed: scores, levels and unmet-need domains, never item answers.",
)
class AssessmentCompleted(_ClientEvent):
    assessment_id = fields.String(required=True)
    version = fields.Integer(required=True)
    supersedes_assessment_id = fields.String(load_default=None, allow_none=True)
    completed_at = fields.AwareDateTime(required=True)
    unmet_needs = fields.List(fields.String(validate=validate.OneOf(LIFE_DOMAINS)), required=True)
    phq9 = fields.Nested(InstrumentSummary, load_default=None, allow_none=True)
    gad7 = fields.Nested(InstrumentSummary, load_default=None, allow_none=True)
    cssrs_level = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(RISK_LEVELS)
    )
    risk_level = fields.String(required=True, validate=validate.OneOf(RISK_LEVELS))
    case_manager_id = fields.String(load_default=None, allow_none=True)


@REGISTRY.register(
    "casehub.intake.risk.flagged.v1", "Risk at moderate or above was found: a person must act."
)
class RiskFlagged(_ClientEvent):
    flag_id = fields.String(required=True)
    assessment_id = fields.String(required=True)
    level = fields.String(required=True, validate=validate.OneOf(("moderate", "high")))
    reasons = fields.List(fields.String(), required=True)
    case_manager_id = fields.String(load_default=None, allow_none=True)
    supervisor_id = fields.String(load_default=None, allow_none=True)
    flagged_at = fields.AwareDateTime(required=True)


@REGISTRY.register(
    "casehub.intake.risk.resolved.v1", "A risk flag was resolved by a case manager or supervisor."
)
class RiskResolved(_ClientEvent):
    flag_id = fields.String(required=True)
    level = fields.String(required=True, validate=validate.OneOf(("moderate", "high")))
    resolved_by = fields.String(required=True)
    resolved_at = fields.AwareDateTime(required=True)


@REGISTRY.register(
    "casehub.intake.case.assigned.v1", "A client's episode was assigned to a case manager."
)
class CaseAssigned(_ClientEvent):
    case_manager_id = fields.String(required=True)
    previous_case_manager_id = fields.String(load_default=None, allow_none=True)
    supervisor_id = fields.String(load_default=None, allow_none=True)
    assigned_by = fields.String(required=True)
    method = fields.String(required=True, validate=validate.OneOf(("explicit", "automatic")))
    over_cap = fields.Boolean(required=True)
    assigned_at = fields.AwareDateTime(required=True)
    care_version = _care_version()
    case_manager_version = fields.Integer(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "The version of the case manager's team that supervisor_id is from."
        },
    )


@REGISTRY.register(
    "casehub.intake.case_manager.updated.v1",
    "A case manager was added or changed: their team, supervisor, caseload cap or whether active.",
)
class CaseManagerUpdated(Schema):
    """Who supervises whom, as every service's access rules need it; never a name."""

    case_manager_id = fields.String(required=True)
    team = fields.String(required=True)
    supervisor_id = fields.String(load_default=None, allow_none=True)
    caseload_cap = fields.Integer(required=True)
    active = fields.Boolean(required=True)
    version = fields.Integer(
        required=True,
        metadata={"description": "Increases with every change; consumers keep the highest."},
    )
    updated_at = fields.AwareDateTime(required=True)


@REGISTRY.register(
    "casehub.intake.access.emergency_granted.v1",
    "Someone broke the glass: time-limited emergency access to one client's crisis picture "
    "(services holding part of it keep the grant; the client's supervisor is told). The stated "
    "reason stays in intake's audit trail, never in the event.",
)
class EmergencyAccessGranted(_ClientEvent):
    grant_id = fields.String(required=True)
    granted_to = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    granted_at = fields.AwareDateTime(required=True)
    expires_at = fields.AwareDateTime(required=True)
    case_manager_id = fields.String(load_default=None, allow_none=True)
    supervisor_id = fields.String(load_default=None, allow_none=True)


@REGISTRY.register(
    "casehub.intake.client.retention_expired.v1",
    "The client's retention period after discharge ran out (no legal hold): every service "
    "erases or anonymises what it holds about them and reports back (client.erased).",
)
class ClientRetentionExpired(Schema):
    client_id = fields.String(required=True)
    client_reference = fields.String(required=True)
    expired_at = fields.AwareDateTime(required=True)


@REGISTRY.register(
    "casehub.intake.reassessment.due.v1",
    "A client's reassessment (needs, PHQ-9, GAD-7) fell due; announced once per due date.",
)
class ReassessmentDue(_ClientEvent):
    due_on = fields.Date(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(("routine", "after_high_risk")))
    last_assessment_id = fields.String(required=True)
    case_manager_id = fields.String(load_default=None, allow_none=True)


REQUEST_OUTCOMES = ("registered", "matched", "declined")


@REGISTRY.register(
    "casehub.intake.referral_request.decided.v1",
    "Intake worked a partner's referral of someone to the agency: registered as a new client, "
    "matched to a known one, or declined with a reason meant for the partner. Closes the loop "
    "for the partner (referrals shows it on their inbound referral); no name, no client id.",
)
class ReferralRequestDecided(Schema):
    request_id = fields.String(
        required=True, metadata={"description": "The inbound referral's id, as the partner got it."}
    )
    organization_id = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(REQUEST_OUTCOMES))
    reason = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "Why it was declined, written for the partner."},
    )
    decided_at = fields.AwareDateTime(required=True)


REMINDER_CHANNELS = ("email", "sms")


@REGISTRY.register(
    "casehub.intake.reminder_consent.changed.v1",
    "The client consented to appointment reminders (with the one channel and address to use) or "
    "withdrew that consent (no channel, no address). Nothing clinical; the newest version wins.",
)
class ReminderConsentChanged(Schema):
    client_id = fields.String(required=True)
    consented = fields.Boolean(required=True)
    channel = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(REMINDER_CHANNELS)
    )
    address = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "The e-mail address or E.164 phone number; null when withdrawn."},
    )
    version = fields.Integer(
        required=True,
        metadata={"description": "Increases with every change: a late event never wins."},
    )
    changed_at = fields.AwareDateTime(required=True)
