"""The client's rights over their record: consent to share, correction, retention and legal hold."""

from __future__ import annotations

from typing import Any

from services.intake import operations
from services.intake.api.common import (
    STAFF,
    clients_bp,
    consent_out,
    consents_bp,
    request_now,
    request_uow,
)
from services.intake.rights_schemas import (
    CorrectionDecisionIn,
    CorrectionIn,
    CorrectionOut,
    CorrectionPage,
    LegalHoldIn,
    RetentionOut,
)
from services.intake.schemas import ConsentIn, ConsentOut, ConsentPage, RevokeIn
from shared.web import current_principal, require_roles
from shared.web.paging import PageArgs, page_body
from shared.web.service_app import current_runtime


# -- retention ---------------------------------------------------------------------------------
@clients_bp.route("/<client_id>/legal-hold", methods=["PUT"])
@require_roles("admin")
@clients_bp.arguments(LegalHoldIn, example={"hold": True, "reason": "Litigation notice 2026-114"})
@clients_bp.response(200, RetentionOut)
def set_legal_hold(body: dict[str, Any], client_id: str) -> Any:
    """Put a legal hold on the client's record (retention stops) or lift it."""
    years = current_runtime().settings.retention_years
    with request_uow() as uow:
        operations.set_legal_hold(uow, current_principal(), client_id, body["hold"], body["reason"])
        return operations.retention_status(uow, current_principal(), client_id, years)


@clients_bp.route("/<client_id>/retention", methods=["GET"])
@require_roles("admin")
@clients_bp.response(200, RetentionOut)
def read_retention(client_id: str) -> Any:
    """When the client's retention runs out, any legal hold, and what each service erased."""
    years = current_runtime().settings.retention_years
    with request_uow() as uow:
        return operations.retention_status(uow, current_principal(), client_id, years)


# -- corrections (the client's right to correction) ---------------------------------------------
@clients_bp.route("/<client_id>/corrections", methods=["POST"])
@require_roles(*STAFF)
@clients_bp.arguments(
    CorrectionIn, example={"field": "family_name", "requested_value": "Rivera-Diaz"}
)
@clients_bp.response(201, CorrectionOut)
def request_correction(body: dict[str, Any], client_id: str) -> Any:
    """Record the client's request to correct a field of their record (decided separately)."""
    with request_uow() as uow:
        return operations.request_correction(uow, current_principal(), client_id, body)


@clients_bp.route("/<client_id>/corrections", methods=["GET"])
@require_roles(*STAFF)
@clients_bp.arguments(PageArgs, location="query")
@clients_bp.response(200, CorrectionPage)
def list_corrections(args: dict[str, Any], client_id: str) -> Any:
    """The client's correction requests and their outcomes, oldest first."""
    with request_uow() as uow:
        return page_body(
            operations.list_corrections(
                uow, current_principal(), client_id, limit=args["limit"], cursor=args["cursor"]
            )
        )


@clients_bp.route("/<client_id>/corrections/<correction_id>/decide", methods=["POST"])
@require_roles("supervisor", "admin")
@clients_bp.arguments(CorrectionDecisionIn, example={"outcome": "accepted", "note": "ID seen"})
@clients_bp.response(200, CorrectionOut)
@clients_bp.alt_response(409, description="Already decided.")
def decide_correction(body: dict[str, Any], client_id: str, correction_id: str) -> Any:
    """Accepted amends the record; refused attaches the client's statement (required)."""
    with request_uow() as uow:
        return operations.decide_correction(
            uow, current_principal(), client_id, correction_id, body, request_now()
        )


# -- consent -----------------------------------------------------------------------------------
@consents_bp.route("/<client_id>/consents", methods=["POST"])
@require_roles(*STAFF)
@consents_bp.arguments(
    ConsentIn,
    example={
        "organization_id": "housing-first",
        "categories": ["contact_details", "assessment_summary"],
        "starts_on": "2026-11-23",
        "expires_on": "2027-11-23",
    },
)
@consents_bp.response(201, ConsentOut)
def grant_consent(body: dict[str, Any], client_id: str) -> Any:
    """Record the client's consent to share categories of data with one organisation."""
    with request_uow() as uow:
        return consent_out(operations.grant_consent(uow, current_principal(), client_id, body))


@consents_bp.route("/<client_id>/consents", methods=["GET"])
@require_roles(*STAFF)
@consents_bp.arguments(PageArgs, location="query")
@consents_bp.response(200, ConsentPage)
def list_consents(args: dict[str, Any], client_id: str) -> Any:
    """Every consent of the client, oldest first, with whether it is in force now."""
    with request_uow() as uow:
        page = operations.list_consents(
            uow, current_principal(), client_id, limit=args["limit"], cursor=args["cursor"]
        )
        return page_body(page, [consent_out(consent) for consent in page.items])


@consents_bp.route("/<client_id>/consents/<consent_id>/revoke", methods=["POST"])
@require_roles(*STAFF)
@consents_bp.arguments(RevokeIn, example={"reason": "The client asked to stop sharing."})
@consents_bp.response(200, ConsentOut)
@consents_bp.alt_response(409, description="The consent is already revoked.")
def revoke_consent(body: dict[str, Any], client_id: str, consent_id: str) -> Any:
    """Revoke a consent; partners stop receiving the client's data."""
    with request_uow() as uow:
        return consent_out(
            operations.revoke_consent(
                uow, current_principal(), client_id, consent_id, body["reason"], request_now()
            )
        )
