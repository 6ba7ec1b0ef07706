"""HTTP in and out for intake: each view turns a request into one operation in a unit of work."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.intake import domain, operations
from services.intake.models import AUDIT, Assessment, Base, Consent, DuplicateReview, RiskFlag
from services.intake.schemas import (
    AssessmentIn,
    AssessmentOut,
    AssessmentPage,
    AssignmentIn,
    AssignmentOut,
    CaseloadPage,
    CaseManagerIn,
    CaseManagerOut,
    CaseManagerPage,
    ClientIn,
    ClientOut,
    ClientPage,
    ClientPatch,
    ClientSearchArgs,
    ConsentIn,
    ConsentOut,
    ConsentPage,
    CorrectionDecisionIn,
    CorrectionIn,
    CorrectionOut,
    CorrectionPage,
    CrisisPictureOut,
    DischargeIn,
    DuplicateResolveIn,
    DuplicateReviewArgs,
    DuplicateReviewOut,
    DuplicateReviewPage,
    EmergencyGrantOut,
    LegalHoldIn,
    NominatedPersonIn,
    NominatedPersonOut,
    ReferralRequestArgs,
    ReferralRequestPage,
    ResolveIn,
    RetentionOut,
    RevokeIn,
    RiskFlagOut,
    RiskFlagPage,
    TeamArgs,
)
from shared import emergency_access
from shared.unit_of_work import UnitOfWork
from shared.web import current_principal, require_roles
from shared.web.audit import audit_blueprint
from shared.web.paging import PageArgs, page_body
from shared.web.privacy import privacy_blueprint
from shared.web.query import Blueprint
from shared.web.request_context import required_purpose
from shared.web.service_app import current_runtime

STAFF = ("intake_worker", "case_manager", "supervisor", "admin")
ASSESSMENT_EXAMPLE = {
    "domains": {
        "housing": {"rating": "unmet_need", "notes": "Staying with friends"},
        "income": {"rating": "met_need"},
    },
    "phq9": {"items": [1, 2, 1, 0, 2, 1, 1, 0, 0]},
    "gad7": {"items": [1, 1, 2, 0, 1, 0, 1]},
    "cssrs": {"wish_to_be_dead": False, "suicidal_thoughts": False},
}

clients = Blueprint(
    "clients",
    __name__,
    url_prefix="/clients",
    description="Clients, episodes and nominated persons",
)
consents = Blueprint(
    "consents",
    __name__,
    url_prefix="/clients",
    description="Consent to share with partner organisations",
)
assessments = Blueprint(
    "assessments",
    __name__,
    url_prefix="/clients",
    description="Needs assessments, instruments and risk",
)
caseloads = Blueprint(
    "caseloads",
    __name__,
    url_prefix="/case-managers",
    description="Case managers, caps and caseloads",
)
duplicate_reviews = Blueprint(
    "duplicate_reviews",
    __name__,
    url_prefix="/duplicate-reviews",
    description="Registrations that matched a client their registrar may not see",
)
referral_requests = Blueprint(
    "referral_requests",
    __name__,
    url_prefix="/referral-requests",
    description="People partner organisations referred to the agency: new requests",
)
BLUEPRINTS = [
    clients,
    referral_requests,
    consents,
    assessments,
    caseloads,
    duplicate_reviews,
    audit_blueprint(AUDIT),
    privacy_blueprint("intake", Base.metadata, AUDIT),
]


def _uow() -> Any:
    return current_runtime().unit_of_work()


def _now() -> datetime:
    """The one clock of the service (built in ``app.py``), read at the request's edge."""
    return current_runtime().clock.now()


# -- clients -----------------------------------------------------------------------------------
@clients.route("", methods=["POST"])
@require_roles("intake_worker", "supervisor", "admin")
@clients.arguments(
    ClientIn,
    example={
        "given_name": "Alex",
        "family_name": "Rivera",
        "date_of_birth": "1988-04-12",
        "preferred_language": "English",
        "contact": {"phone": "555-0100"},
        "nominated_persons": [
            {
                "name": "Sam Rivera",
                "relationship_to_client": "family",
                "may_be_told": ["contact_details"],
            }
        ],
    },
)
@clients.response(201, ClientOut)
@clients.alt_response(
    409,
    description="A client you may see has the same name and date of birth (existing_client_ids). "
    "A match you may not see is not revealed: the client is registered and the pair goes to "
    "the duplicate-review list.",
)
def register_client(body: dict[str, Any]) -> Any:
    """Register a client and open their first episode."""
    confirmed = body.pop("confirmed_not_duplicate")
    with _uow() as uow:
        return operations.register_client(
            uow, current_principal(), body, confirmed_not_duplicate=confirmed
        )


@clients.route("", methods=["GET"])
@require_roles(*STAFF)
@clients.arguments(ClientSearchArgs, location="query")
@clients.response(200, ClientPage)
def search_clients(args: dict[str, Any]) -> Any:
    """Search the clients you may see by reference, name, date of birth or external identifier."""
    with _uow() as uow:
        page = operations.search_clients(
            uow,
            current_principal(),
            reference=args.get("reference"),
            name=args.get("name"),
            date_of_birth=args.get("date_of_birth"),
            external_id=args.get("external_id"),
            limit=args["limit"],
            cursor=args["cursor"],
        )
    return page_body(page)


@clients.route("/<client_id>", methods=["GET"])
@require_roles(*STAFF)
@clients.response(200, ClientOut)
def read_client(client_id: str) -> Any:
    """A client's record (404 when it does not exist or you may not see it)."""
    with _uow() as uow:
        return operations.read_client(uow, current_principal(), client_id)


@clients.route("/<client_id>", methods=["PATCH"])
@require_roles(*STAFF)
@clients.arguments(ClientPatch, example={"preferred_language": "Spanish"})
@clients.response(200, ClientOut)
def update_client(changes: dict[str, Any], client_id: str) -> Any:
    """Change a client's details; the event names the changed fields only."""
    with _uow() as uow:
        return operations.update_client(uow, current_principal(), client_id, changes, _now())


@clients.route("/<client_id>/discharge", methods=["POST"])
@require_roles("case_manager", "supervisor", "admin")
@clients.arguments(DischargeIn, example={"reason_code": "goals_met"})
@clients.response(200, ClientOut)
@clients.alt_response(409, description="The client is already discharged.")
def discharge(body: dict[str, Any], client_id: str) -> Any:
    """Close the client's current episode."""
    with _uow() as uow:
        return operations.discharge(
            uow, current_principal(), client_id, body["reason_code"], _now()
        )


@clients.route("/<client_id>/readmit", methods=["POST"])
@require_roles("intake_worker", "supervisor", "admin")
@clients.response(201, ClientOut)
@clients.alt_response(409, description="The client already has an open episode.")
def readmit(client_id: str) -> Any:
    """Re-admit a discharged client: a new episode."""
    with _uow() as uow:
        return operations.readmit(uow, current_principal(), client_id, _now())


@clients.route("/<client_id>/nominated-persons", methods=["POST"])
@require_roles(*STAFF)
@clients.arguments(
    NominatedPersonIn,
    example={
        "name": "Jo Park",
        "relationship_to_client": "carer",
        "may_be_told": ["risk_information"],
    },
)
@clients.response(201, NominatedPersonOut)
def add_nominated_person(body: dict[str, Any], client_id: str) -> Any:
    """Add a family member, carer or advocate and what they may be told."""
    with _uow() as uow:
        return operations.add_nominated_person(uow, current_principal(), client_id, body, _now())


@clients.route("/<client_id>/nominated-persons/<person_id>", methods=["DELETE"])
@require_roles(*STAFF)
@clients.response(204)
def remove_nominated_person(client_id: str, person_id: str) -> None:
    """Remove a nominated person."""
    with _uow() as uow:
        operations.remove_nominated_person(uow, current_principal(), client_id, person_id, _now())


@clients.route("/<client_id>/assignment", methods=["POST"])
@require_roles("intake_worker", "supervisor", "admin")
@clients.arguments(AssignmentIn, example={"case_manager_id": "cm-17", "override_reason": None})
@clients.response(201, AssignmentOut)
@clients.alt_response(
    409, description="The case manager is at their cap (a supervisor may override with a reason)."
)
def assign(body: dict[str, Any], client_id: str) -> Any:
    """Assign the client's episode to a named case manager, or automatically within a team."""
    with _uow() as uow:
        _client, assignment = operations.assign(
            uow,
            current_principal(),
            client_id,
            case_manager_id=body["case_manager_id"],
            team=body["team"],
            override_reason=body["override_reason"],
            programme=body["programme"],
            now=_now(),
        )
        return assignment


# -- emergency access (break the glass) --------------------------------------------------------
@clients.route("/<client_id>/emergency-access", methods=["POST"])
@require_roles(*emergency_access.EMERGENCY_ROLES)
@clients.response(201, EmergencyGrantOut)
@clients.alt_response(400, description="No X-Purpose header: the reason is required.")
def grant_emergency_access(client_id: str) -> Any:
    """Break the glass: emergency access to this client's crisis picture in every service that
    holds part of it, for CASEHUB_EMERGENCY_ACCESS_HOURS (12), with a required X-Purpose; audited
    as emergency access and announced to the client's supervisor."""
    required_purpose(emergency_access.PURPOSE_WHY)
    runtime = current_runtime()
    with _uow() as uow:
        return operations.grant_emergency_access(
            uow,
            current_principal(),
            client_id,
            now=_now(),
            hours=runtime.settings.emergency_access_hours,
        )


@clients.route("/<client_id>/emergency-access/crisis-picture", methods=["GET"])
@require_roles(*emergency_access.EMERGENCY_ROLES)
@clients.response(200, CrisisPictureOut)
def read_crisis_picture(client_id: str) -> Any:
    """Intake's part of the crisis picture under an emergency grant in force (404 without one,
    or once it has expired); every read is audited as emergency access (X-Purpose required)."""
    required_purpose(emergency_access.PURPOSE_WHY)
    with _uow() as uow:
        return operations.crisis_picture(uow, current_principal(), client_id, now=_now())


# -- retention ---------------------------------------------------------------------------------
@clients.route("/<client_id>/legal-hold", methods=["PUT"])
@require_roles("admin")
@clients.arguments(LegalHoldIn, example={"hold": True, "reason": "Litigation notice 2026-114"})
@clients.response(200, RetentionOut)
def set_legal_hold(body: dict[str, Any], client_id: str) -> Any:
    """Put a legal hold on the client's record (retention stops) or lift it."""
    years = current_runtime().settings.retention_years
    with _uow() as uow:
        operations.set_legal_hold(uow, current_principal(), client_id, body["hold"], body["reason"])
        return operations.retention_status(uow, current_principal(), client_id, years)


@clients.route("/<client_id>/retention", methods=["GET"])
@require_roles("admin")
@clients.response(200, RetentionOut)
def read_retention(client_id: str) -> Any:
    """When the client's retention runs out, any legal hold, and what each service erased."""
    years = current_runtime().settings.retention_years
    with _uow() as uow:
        return operations.retention_status(uow, current_principal(), client_id, years)


# -- corrections (the client's right to correction) ---------------------------------------------
@clients.route("/<client_id>/corrections", methods=["POST"])
@require_roles(*STAFF)
@clients.arguments(CorrectionIn, example={"field": "family_name", "requested_value": "Rivera-Diaz"})
@clients.response(201, CorrectionOut)
def request_correction(body: dict[str, Any], client_id: str) -> Any:
    """Record the client's request to correct a field of their record (decided separately)."""
    with _uow() as uow:
        return operations.request_correction(uow, current_principal(), client_id, body)


@clients.route("/<client_id>/corrections", methods=["GET"])
@require_roles(*STAFF)
@clients.arguments(PageArgs, location="query")
@clients.response(200, CorrectionPage)
def list_corrections(args: dict[str, Any], client_id: str) -> Any:
    """The client's correction requests and their outcomes, oldest first."""
    with _uow() as uow:
        return page_body(
            operations.list_corrections(
                uow, current_principal(), client_id, limit=args["limit"], cursor=args["cursor"]
            )
        )


@clients.route("/<client_id>/corrections/<correction_id>/decide", methods=["POST"])
@require_roles("supervisor", "admin")
@clients.arguments(CorrectionDecisionIn, example={"outcome": "accepted", "note": "ID seen"})
@clients.response(200, CorrectionOut)
@clients.alt_response(409, description="Already decided.")
def decide_correction(body: dict[str, Any], client_id: str, correction_id: str) -> Any:
    """Accepted amends the record; refused attaches the client's statement (required)."""
    with _uow() as uow:
        return operations.decide_correction(
            uow, current_principal(), client_id, correction_id, body, _now()
        )


# -- consent -----------------------------------------------------------------------------------
def _consent_out(consent: Consent) -> dict[str, Any]:
    return {
        **{field: getattr(consent, field) for field in ConsentOut().fields if field != "in_force"},
        "in_force": operations.consent_in_force(consent, _now()),
    }


@consents.route("/<client_id>/consents", methods=["POST"])
@require_roles(*STAFF)
@consents.arguments(
    ConsentIn,
    example={
        "organization_id": "housing-first",
        "categories": ["contact_details", "assessment_summary"],
        "starts_on": "2026-11-23",
        "expires_on": "2027-11-23",
    },
)
@consents.response(201, ConsentOut)
def grant_consent(body: dict[str, Any], client_id: str) -> Any:
    """Record the client's consent to share categories of data with one organisation."""
    with _uow() as uow:
        return _consent_out(operations.grant_consent(uow, current_principal(), client_id, body))


@consents.route("/<client_id>/consents", methods=["GET"])
@require_roles(*STAFF)
@consents.arguments(PageArgs, location="query")
@consents.response(200, ConsentPage)
def list_consents(args: dict[str, Any], client_id: str) -> Any:
    """Every consent of the client, oldest first, with whether it is in force now."""
    with _uow() as uow:
        page = operations.list_consents(
            uow, current_principal(), client_id, limit=args["limit"], cursor=args["cursor"]
        )
        return page_body(page, [_consent_out(consent) for consent in page.items])


@consents.route("/<client_id>/consents/<consent_id>/revoke", methods=["POST"])
@require_roles(*STAFF)
@consents.arguments(RevokeIn, example={"reason": "The client asked to stop sharing."})
@consents.response(200, ConsentOut)
@consents.alt_response(409, description="The consent is already revoked.")
def revoke_consent(body: dict[str, Any], client_id: str, consent_id: str) -> Any:
    """Revoke a consent; partners stop receiving the client's data."""
    with _uow() as uow:
        return _consent_out(
            operations.revoke_consent(
                uow, current_principal(), client_id, consent_id, body["reason"], _now()
            )
        )


# -- assessments and risk ----------------------------------------------------------------------
def _assessment_out(
    uow: UnitOfWork, assessment: Assessment, flag: RiskFlag | None = None
) -> dict[str, Any]:
    ratings = {name: value["rating"] for name, value in assessment.domains.items()}
    return {
        **{
            field: getattr(assessment, field)
            for field in (
                "id",
                "client_id",
                "episode_id",
                "version",
                "supersedes_id",
                "domains",
                "phq9",
                "gad7",
                "cssrs",
                "risk_level",
                "risk_reasons",
                "cssrs_screen_needed",
                "assessed_by",
                "completed_at",
            )
        },
        "unmet_needs": domain.unmet_needs(ratings),
        "superseded_by_id": operations.superseded_by(uow, assessment),
        "risk_flag_id": flag.id if flag else None,
    }


@assessments.route("/<client_id>/assessments", methods=["POST"])
@require_roles(*STAFF)
@assessments.arguments(AssessmentIn, example=ASSESSMENT_EXAMPLE)
@assessments.response(201, AssessmentOut)
@assessments.alt_response(409, description="The client is discharged; re-admit them first.")
def record_assessment(body: dict[str, Any], client_id: str) -> Any:
    """Complete an assessment: the server scores the instruments and decides the risk level."""
    with _uow() as uow:
        assessment, flag = operations.record_assessment(uow, current_principal(), client_id, body)
        return _assessment_out(uow, assessment, flag)


@assessments.route("/<client_id>/assessments", methods=["GET"])
@require_roles(*STAFF)
@assessments.arguments(PageArgs, location="query")
@assessments.response(200, AssessmentPage)
def list_assessments(args: dict[str, Any], client_id: str) -> Any:
    """All assessments of the client, every version, oldest first."""
    with _uow() as uow:
        page = operations.list_assessments(
            uow, current_principal(), client_id, limit=args["limit"], cursor=args["cursor"]
        )
        return page_body(page, [_assessment_out(uow, a) for a in page.items])


@assessments.route("/<client_id>/assessments/<assessment_id>", methods=["GET"])
@require_roles(*STAFF)
@assessments.response(200, AssessmentOut)
def read_assessment(client_id: str, assessment_id: str) -> Any:
    """One assessment version."""
    with _uow() as uow:
        return _assessment_out(
            uow, operations.read_assessment(uow, current_principal(), client_id, assessment_id)
        )


@assessments.route("/<client_id>/assessments/<assessment_id>/amendments", methods=["POST"])
@require_roles(*STAFF)
@assessments.arguments(AssessmentIn, example=ASSESSMENT_EXAMPLE)
@assessments.response(201, AssessmentOut)
@assessments.alt_response(
    409, description="This version was already amended, or the client is discharged."
)
def amend_assessment(body: dict[str, Any], client_id: str, assessment_id: str) -> Any:
    """Amend a completed assessment: a new version that supersedes it (the old one never changes)."""
    with _uow() as uow:
        assessment, flag = operations.record_assessment(
            uow, current_principal(), client_id, body, supersedes_id=assessment_id
        )
        return _assessment_out(uow, assessment, flag)


@assessments.route("/<client_id>/risk-flags", methods=["GET"])
@require_roles(*STAFF)
@assessments.arguments(PageArgs, location="query")
@assessments.response(200, RiskFlagPage)
def list_risk_flags(args: dict[str, Any], client_id: str) -> Any:
    """The client's risk flags, open and resolved, oldest first."""
    with _uow() as uow:
        return page_body(
            operations.list_risk_flags(
                uow, current_principal(), client_id, limit=args["limit"], cursor=args["cursor"]
            )
        )


@assessments.route("/<client_id>/risk-flags/<flag_id>/resolve", methods=["POST"])
@require_roles("case_manager", "supervisor")
@assessments.arguments(ResolveIn, example={"note": "Safety plan agreed; crisis line given."})
@assessments.response(200, RiskFlagOut)
@assessments.alt_response(409, description="The risk flag is already resolved.")
def resolve_risk_flag(body: dict[str, Any], client_id: str, flag_id: str) -> Any:
    """Resolve an open risk flag with a note."""
    with _uow() as uow:
        return operations.resolve_risk_flag(
            uow, current_principal(), client_id, flag_id, body["note"], _now()
        )


# -- case managers, caseloads, audit -----------------------------------------------------------
def _manager_out(manager: Any, load: domain.CaseManagerLoad) -> dict[str, Any]:
    return {
        field: getattr(manager, field)
        for field in ("id", "display_name", "team", "supervisor_id", "caseload_cap", "active")
    } | {"active_clients": load.active_clients, "open_risk_flags": load.open_risk_flags}


@caseloads.route("/<case_manager_id>", methods=["PUT"])
@require_roles("supervisor", "admin")
@caseloads.arguments(
    CaseManagerIn,
    example={
        "display_name": "Dana Okafor",
        "team": "north",
        "supervisor_id": "sup-1",
        "caseload_cap": 50,
    },
)
@caseloads.response(200, CaseManagerOut)
@caseloads.alt_response(404, description="A supervisor names a case manager not in their team.")
def save_case_manager(body: dict[str, Any], case_manager_id: str) -> Any:
    """Create (admin) or update a case manager: team, supervisor, caseload cap (default 50), active.

    Other services' access rules follow the change (``case_manager.updated``)."""
    with _uow() as uow:
        manager = operations.save_case_manager(
            uow, current_principal(), case_manager_id, body, _now()
        )
        return _manager_out(manager, operations.loads(uow, [manager])[0])


@caseloads.route("", methods=["GET"])
@require_roles("supervisor", "admin")
@caseloads.arguments(TeamArgs, location="query")
@caseloads.response(200, CaseManagerPage)
def team_view(args: dict[str, Any]) -> Any:
    """Team view: each case manager's load against their cap (a supervisor sees their team)."""
    with _uow() as uow:
        page = operations.team_view(
            uow, current_principal(), args.get("team"), limit=args["limit"], cursor=args["cursor"]
        )
        return page_body(page, [_manager_out(m, load) for m, load in page.items])


@caseloads.route("/<case_manager_id>/caseload", methods=["GET"])
@require_roles("case_manager", "supervisor", "admin")
@caseloads.arguments(PageArgs, location="query")
@caseloads.response(200, CaseloadPage)
def caseload(args: dict[str, Any], case_manager_id: str) -> Any:
    """A caseload: clients with open risk flags first, then the nearest review due."""
    with _uow() as uow:
        page = operations.caseload(
            uow, current_principal(), case_manager_id, limit=args["limit"], cursor=args["cursor"]
        )
        return page_body(
            page,
            [
                {
                    "client": client,
                    "highest_open_risk": level,
                    "open_risk_flags": count,
                    "next_review_due": client.current_episode.next_review_due,
                }
                for client, level, count in page.items
            ],
        )


# -- duplicate reviews -------------------------------------------------------------------------
def _review_out(uow: UnitOfWork, review: DuplicateReview) -> dict[str, Any]:
    references = operations.duplicate_review_references(uow, review)
    return {
        field: getattr(review, field)
        for field in DuplicateReviewOut().fields
        if hasattr(review, field)
    } | {
        "new_client_reference": references.get(review.new_client_id),
        "existing_client_reference": references.get(review.existing_client_id),
    }


@duplicate_reviews.route("", methods=["GET"])
@require_roles("supervisor", "admin")
@duplicate_reviews.arguments(DuplicateReviewArgs, location="query")
@duplicate_reviews.response(200, DuplicateReviewPage)
def list_duplicate_reviews(args: dict[str, Any]) -> Any:
    """Pairs of records that may be one person, oldest first (a supervisor sees the pairs whose
    two records they may both see)."""
    with _uow() as uow:
        page = operations.list_duplicate_reviews(
            uow,
            current_principal(),
            status=args.get("status"),
            limit=args["limit"],
            cursor=args["cursor"],
        )
        return {
            "items": [_review_out(uow, review) for review in page.items],
            "next_cursor": page.next_cursor,
        }


@duplicate_reviews.route("/<review_id>/resolve", methods=["POST"])
@require_roles("supervisor", "admin")
@duplicate_reviews.arguments(
    DuplicateResolveIn, example={"outcome": "distinct", "note": "Different NHS numbers."}
)
@duplicate_reviews.response(200, DuplicateReviewOut)
@duplicate_reviews.alt_response(409, description="The review is already resolved.")
def resolve_duplicate_review(body: dict[str, Any], review_id: str) -> Any:
    """Decide: ``distinct`` (two people) or ``merged`` (the newer record is closed as a duplicate
    of the older and points to it)."""
    with _uow() as uow:
        review = operations.resolve_duplicate_review(
            uow, current_principal(), review_id, str(body["outcome"]), body["note"], _now()
        )
        return _review_out(uow, review)


@referral_requests.route("", methods=["GET"])
@require_roles("intake_worker", "supervisor", "admin")
@referral_requests.arguments(ReferralRequestArgs, location="query")
@referral_requests.response(200, ReferralRequestPage)
def list_referral_requests(args: dict[str, Any]) -> Any:
    """New requests from partners (people they referred to the agency), oldest first."""
    with _uow() as uow:
        return page_body(
            operations.list_referral_requests(
                uow,
                current_principal(),
                status=args.get("status"),
                limit=args["limit"],
                cursor=args["cursor"],
            )
        )
