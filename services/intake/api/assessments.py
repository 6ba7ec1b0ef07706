"""Needs assessments, the instruments' scores, outcomes over time and risk flags."""

from __future__ import annotations

from typing import Any

from services.intake import operations
from services.intake.api.common import (
    ASSESSMENT_EXAMPLE,
    STAFF,
    assessment_out,
    assessments_bp,
    request_now,
    request_uow,
)
from services.intake.schemas import (
    AssessmentIn,
    AssessmentOut,
    AssessmentPage,
    OutcomeArgs,
    OutcomesOut,
    ResolveIn,
    RiskFlagOut,
    RiskFlagPage,
)
from services.intake.settings import reassessment_policy
from shared.web import current_principal, require_roles
from shared.web.paging import PageArgs, page_body


# -- assessments and risk ----------------------------------------------------------------------
@assessments_bp.route("/<client_id>/assessments", methods=["POST"])
@require_roles(*STAFF)
@assessments_bp.arguments(AssessmentIn, example=ASSESSMENT_EXAMPLE)
@assessments_bp.response(201, AssessmentOut)
@assessments_bp.alt_response(409, description="The client is discharged; re-admit them first.")
def record_assessment(body: dict[str, Any], client_id: str) -> Any:
    """Complete an assessment: the server scores the instruments and decides the risk level."""
    with request_uow() as uow:
        assessment, flag = operations.record_assessment(uow, current_principal(), client_id, body)
        return assessment_out(uow, assessment, flag)


@assessments_bp.route("/<client_id>/assessments", methods=["GET"])
@require_roles(*STAFF)
@assessments_bp.arguments(PageArgs, location="query")
@assessments_bp.response(200, AssessmentPage)
def list_assessments(args: dict[str, Any], client_id: str) -> Any:
    """All assessments of the client, every version, oldest first."""
    with request_uow() as uow:
        page = operations.list_assessments(
            uow, current_principal(), client_id, limit=args["limit"], cursor=args["cursor"]
        )
        amended = operations.amendments_of(uow, page.items)
        return page_body(page, [assessment_out(uow, a, amended=amended) for a in page.items])


@assessments_bp.route("/<client_id>/assessments/<assessment_id>", methods=["GET"])
@require_roles(*STAFF)
@assessments_bp.response(200, AssessmentOut)
def read_assessment(client_id: str, assessment_id: str) -> Any:
    """One assessment version."""
    with request_uow() as uow:
        return assessment_out(
            uow, operations.read_assessment(uow, current_principal(), client_id, assessment_id)
        )


@assessments_bp.route("/<client_id>/outcomes", methods=["GET"])
@require_roles(*STAFF)
@assessments_bp.arguments(OutcomeArgs, location="query")
@assessments_bp.response(200, OutcomesOut)
def outcomes(args: dict[str, Any], client_id: str) -> Any:
    """PHQ-9 and GAD-7 over time: change from baseline, reliable change, response, remission,
    and when the next reassessment is due."""
    with request_uow() as uow:
        return operations.client_outcomes(
            uow, current_principal(), client_id, args["episode_id"], reassessment_policy()
        )


@assessments_bp.route("/<client_id>/assessments/<assessment_id>/amendments", methods=["POST"])
@require_roles(*STAFF)
@assessments_bp.arguments(AssessmentIn, example=ASSESSMENT_EXAMPLE)
@assessments_bp.response(201, AssessmentOut)
@assessments_bp.alt_response(
    409, description="This version was already amended, or the client is discharged."
)
def amend_assessment(body: dict[str, Any], client_id: str, assessment_id: str) -> Any:
    """Amend a completed assessment: a new version that supersedes it (the old one never changes)."""
    with request_uow() as uow:
        assessment, flag = operations.record_assessment(
            uow, current_principal(), client_id, body, supersedes_id=assessment_id
        )
        return assessment_out(uow, assessment, flag)


@assessments_bp.route("/<client_id>/risk-flags", methods=["GET"])
@require_roles(*STAFF)
@assessments_bp.arguments(PageArgs, location="query")
@assessments_bp.response(200, RiskFlagPage)
def list_risk_flags(args: dict[str, Any], client_id: str) -> Any:
    """The client's risk flags, open and resolved, oldest first."""
    with request_uow() as uow:
        return page_body(
            operations.list_risk_flags(
                uow, current_principal(), client_id, limit=args["limit"], cursor=args["cursor"]
            )
        )


@assessments_bp.route("/<client_id>/risk-flags/<flag_id>/resolve", methods=["POST"])
@require_roles("case_manager", "supervisor")
@assessments_bp.arguments(ResolveIn, example={"note": "Safety plan agreed; crisis line given."})
@assessments_bp.response(200, RiskFlagOut)
@assessments_bp.alt_response(409, description="The risk flag is already resolved.")
def resolve_risk_flag(body: dict[str, Any], client_id: str, flag_id: str) -> Any:
    """Resolve an open risk flag with a note."""
    with request_uow() as uow:
        return operations.resolve_risk_flag(
            uow, current_principal(), client_id, flag_id, body["note"], request_now()
        )
