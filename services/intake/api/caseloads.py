"""Case managers and their caps, caseloads, duplicate reviews and partners' referral requests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import jsonify

from services.intake import domain, operations
from services.intake.api.common import (
    caseloads_bp,
    duplicate_reviews_bp,
    referral_requests_bp,
    request_now,
    request_uow,
)
from services.intake.models import DuplicateReview
from services.intake.response_json import caseload_entry_json
from services.intake.schemas import (
    CaseloadPage,
    CaseManagerIn,
    CaseManagerOut,
    CaseManagerPage,
    DuplicateResolveIn,
    DuplicateReviewArgs,
    DuplicateReviewOut,
    DuplicateReviewPage,
    ReferralRequestArgs,
    ReferralRequestDecisionIn,
    ReferralRequestOut,
    ReferralRequestPage,
    TeamArgs,
)
from shared.unit_of_work import UnitOfWork
from shared.web import current_principal, require_roles
from shared.web.paging import PageArgs, page_body
from shared.web.service_app import current_runtime


# -- case managers, caseloads, audit -----------------------------------------------------------
def _manager_out(manager: Any, load: domain.CaseManagerLoad) -> dict[str, Any]:
    return {
        field: getattr(manager, field)
        for field in ("id", "display_name", "team", "supervisor_id", "caseload_cap", "active")
    } | {"active_clients": load.active_clients, "open_risk_flags": load.open_risk_flags}


@caseloads_bp.route("/<case_manager_id>", methods=["PUT"])
@require_roles("supervisor", "admin")
@caseloads_bp.arguments(
    CaseManagerIn,
    example={
        "display_name": "Dana Okafor",
        "team": "north",
        "supervisor_id": "sup-1",
        "caseload_cap": 50,
    },
)
@caseloads_bp.response(200, CaseManagerOut)
@caseloads_bp.alt_response(404, description="A supervisor names a case manager not in their team.")
def save_case_manager(body: dict[str, Any], case_manager_id: str) -> Any:
    """Create (admin) or update a case manager: team, supervisor, caseload cap (default 50), active.

    Other services' access rules follow the change (``case_manager.updated``)."""
    with request_uow() as uow:
        manager = operations.save_case_manager(
            uow, current_principal(), case_manager_id, body, request_now()
        )
        return _manager_out(manager, operations.loads(uow, [manager])[0])


@caseloads_bp.route("", methods=["GET"])
@require_roles("intake_worker", "supervisor", "admin")
@caseloads_bp.arguments(TeamArgs, location="query")
@caseloads_bp.response(200, CaseManagerPage)
def team_view(args: dict[str, Any]) -> Any:
    """Team view: each case manager's load against their cap (a supervisor sees their team;
    an intake worker, who assigns new clients, every team: counts only, no client)."""
    with request_uow() as uow:
        page = operations.team_view(
            uow, current_principal(), args.get("team"), limit=args["limit"], cursor=args["cursor"]
        )
        return page_body(page, [_manager_out(m, load) for m, load in page.items])


@caseloads_bp.route("/<case_manager_id>/caseload", methods=["GET"])
@require_roles("case_manager", "supervisor", "admin")
@caseloads_bp.arguments(PageArgs, location="query")
@caseloads_bp.response(200, CaseloadPage)
def caseload(args: dict[str, Any], case_manager_id: str) -> Any:
    """A caseload: clients with open risk flags first, then the nearest review due."""
    with current_runtime().audited_read() as read:
        page = operations.caseload(
            read, current_principal(), case_manager_id, limit=args["limit"], cursor=args["cursor"]
        )
    # Already the documented shape (CaseloadPage): a Response is sent as it is, not dumped again.
    return jsonify(page_body(page, [caseload_entry_json(entry) for entry in page.items]))


# -- duplicate reviews -------------------------------------------------------------------------
def _review_out(uow: UnitOfWork, review: DuplicateReview) -> dict[str, Any]:
    return _reviews_out(uow, [review])[0]


def _reviews_out(uow: UnitOfWork, reviews: Sequence[DuplicateReview]) -> list[dict[str, Any]]:
    """The pairs with their records' references, looked up for the whole page at once."""
    references = operations.duplicate_review_references(uow, reviews)
    fields = list(DuplicateReviewOut().fields)
    return [
        {field: getattr(review, field) for field in fields if hasattr(review, field)}
        | {
            "new_client_reference": references.get(review.new_client_id),
            "existing_client_reference": references.get(review.existing_client_id),
        }
        for review in reviews
    ]


@duplicate_reviews_bp.route("", methods=["GET"])
@require_roles("supervisor", "admin")
@duplicate_reviews_bp.arguments(DuplicateReviewArgs, location="query")
@duplicate_reviews_bp.response(200, DuplicateReviewPage)
def list_duplicate_reviews(args: dict[str, Any]) -> Any:
    """Pairs of records that may be one person, oldest first (a supervisor sees the pairs whose
    two records they may both see)."""
    with request_uow() as uow:
        page = operations.list_duplicate_reviews(
            uow,
            current_principal(),
            status=args.get("status"),
            limit=args["limit"],
            cursor=args["cursor"],
        )
        return {
            "items": _reviews_out(uow, page.items),
            "next_cursor": page.next_cursor,
        }


@duplicate_reviews_bp.route("/<review_id>/resolve", methods=["POST"])
@require_roles("supervisor", "admin")
@duplicate_reviews_bp.arguments(
    DuplicateResolveIn, example={"outcome": "distinct", "note": "Different NHS numbers."}
)
@duplicate_reviews_bp.response(200, DuplicateReviewOut)
@duplicate_reviews_bp.alt_response(409, description="The review is already resolved.")
def resolve_duplicate_review(body: dict[str, Any], review_id: str) -> Any:
    """Decide: ``distinct`` (two people) or ``merged`` (the newer record is closed as a duplicate
    of the older and points to it)."""
    with request_uow() as uow:
        review = operations.resolve_duplicate_review(
            uow, current_principal(), review_id, str(body["outcome"]), body["note"], request_now()
        )
        return _review_out(uow, review)


@referral_requests_bp.route("", methods=["GET"])
@require_roles("intake_worker", "supervisor", "admin")
@referral_requests_bp.arguments(ReferralRequestArgs, location="query")
@referral_requests_bp.response(200, ReferralRequestPage)
def list_referral_requests(args: dict[str, Any]) -> Any:
    """New requests from partners (people they referred to the agency), oldest first."""
    with request_uow() as uow:
        return page_body(
            operations.list_referral_requests(
                uow,
                current_principal(),
                status=args.get("status"),
                limit=args["limit"],
                cursor=args["cursor"],
            )
        )


@referral_requests_bp.route("/<request_id>/decide", methods=["POST"])
@require_roles("intake_worker", "supervisor", "admin")
@referral_requests_bp.arguments(
    ReferralRequestDecisionIn,
    example={"outcome": "declined", "reason": "Outside our area; referred on to Eastside CMHT."},
)
@referral_requests_bp.response(200, ReferralRequestOut)
@referral_requests_bp.alt_response(404, description="No such request, or no such client you see.")
@referral_requests_bp.alt_response(409, description="The request is already decided.")
def decide_referral_request(body: dict[str, Any], request_id: str) -> Any:
    """Work a partner's request: register or match it to a client, or decline it with a reason
    for the partner (who sees the outcome on their inbound referral)."""
    with request_uow() as uow:
        return operations.decide_referral_request(
            uow, current_principal(), request_id, body, request_now()
        )
