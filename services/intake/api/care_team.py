"""HTTP in and out for the client's care team and the medications the client reports."""

from __future__ import annotations

from typing import Any

from services.intake.api.common import STAFF, request_now, request_uow
from services.intake.care_team_schemas import (
    MedicationIn,
    MedicationOut,
    MedicationPage,
    MedicationPatch,
    ProfessionalIn,
    ProfessionalOut,
    ProfessionalPage,
)
from services.intake.operations import care_team
from shared.web import current_principal, require_roles
from shared.web.paging import PageArgs, page_body
from shared.web.query import Blueprint

care_team_bp = Blueprint(
    "care_team",
    __name__,
    url_prefix="/clients",
    description="The client's other professionals and the medications they report",
)


@care_team_bp.route("/<client_id>/care-team", methods=["POST"])
@require_roles(*STAFF)
@care_team_bp.arguments(
    ProfessionalIn,
    example={
        "role": "psychiatrist",
        "name": "Dr Lena Ortiz",
        "organisation": "Riverside CMHT",
        "phone": "555-0142",
        "email": "l.ortiz@riverside.example",
    },
)
@care_team_bp.response(201, ProfessionalOut)
def add_professional(body: dict[str, Any], client_id: str) -> Any:
    """Add a professional who works with the client (role, organisation, contact)."""
    with request_uow() as uow:
        return care_team.add_professional(uow, current_principal(), client_id, body, request_now())


@care_team_bp.route("/<client_id>/care-team", methods=["GET"])
@require_roles(*STAFF)
@care_team_bp.arguments(PageArgs, location="query")
@care_team_bp.response(200, ProfessionalPage)
def list_professionals(args: dict[str, Any], client_id: str) -> Any:
    """The care team, past members with the day they left."""
    with request_uow() as uow:
        return page_body(
            care_team.list_professionals(
                uow, current_principal(), client_id, limit=args["limit"], cursor=args["cursor"]
            )
        )


@care_team_bp.route("/<client_id>/care-team/<member_id>/end", methods=["POST"])
@require_roles(*STAFF)
@care_team_bp.response(200, ProfessionalOut)
@care_team_bp.alt_response(409, description="They already left the care team.")
def end_professional(client_id: str, member_id: str) -> Any:
    """The professional no longer works with the client (the record stays)."""
    with request_uow() as uow:
        return care_team.end_professional(
            uow, current_principal(), client_id, member_id, request_now()
        )


@care_team_bp.route("/<client_id>/medications", methods=["POST"])
@require_roles(*STAFF)
@care_team_bp.arguments(
    MedicationIn,
    example={
        "name": "Sertraline",
        "dose": "50 mg daily",
        "prescriber": "Dr Lena Ortiz",
        "started_on": "2026-09-01",
    },
)
@care_team_bp.response(201, MedicationOut)
def report_medication(body: dict[str, Any], client_id: str) -> Any:
    """Record a medication as the client or prescriber reports it (Casehub never prescribes)."""
    with request_uow() as uow:
        return care_team.report_medication(uow, current_principal(), client_id, body, request_now())


@care_team_bp.route("/<client_id>/medications", methods=["GET"])
@require_roles(*STAFF)
@care_team_bp.arguments(PageArgs, location="query")
@care_team_bp.response(200, MedicationPage)
def list_medications(args: dict[str, Any], client_id: str) -> Any:
    """The medications the client reports, current and stopped."""
    with request_uow() as uow:
        return page_body(
            care_team.list_medications(
                uow, current_principal(), client_id, limit=args["limit"], cursor=args["cursor"]
            )
        )


@care_team_bp.route("/<client_id>/medications/<medication_id>", methods=["PATCH"])
@require_roles(*STAFF)
@care_team_bp.arguments(MedicationPatch, example={"dose": "100 mg daily"})
@care_team_bp.response(200, MedicationOut)
def update_medication(changes: dict[str, Any], client_id: str, medication_id: str) -> Any:
    """A dose change, or the day it stopped."""
    with request_uow() as uow:
        return care_team.update_medication(
            uow, current_principal(), client_id, medication_id, changes
        )
