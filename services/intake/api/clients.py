"""Clients, their episodes, nominated persons and assignment to a case manager."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from services.intake import operations
from services.intake.api.common import (
    STAFF,
    assessment_out,
    clients_bp,
    consent_out,
    request_now,
    request_uow,
)
from services.intake.response_json import client_json
from services.intake.schemas import (
    AssignmentIn,
    AssignmentOut,
    ClientIn,
    ClientOut,
    ClientPage,
    ClientPatch,
    ClientRecordOut,
    ClientSearchArgs,
    DischargeIn,
    NominatedPersonIn,
    NominatedPersonOut,
)
from shared.web import current_principal, require_roles
from shared.web.paging import FirstPagesArgs, page_body


# -- clients -----------------------------------------------------------------------------------
@clients_bp.route("", methods=["POST"])
@require_roles("intake_worker", "supervisor", "admin")
@clients_bp.arguments(
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
@clients_bp.response(201, ClientOut)
@clients_bp.alt_response(
    409,
    description="A client you may see has the same name and date of birth (existing_client_ids). "
    "A match you may not see is not revealed: the client is registered and the pair goes to "
    "the duplicate-review list.",
)
def register_client(body: dict[str, Any]) -> Any:
    """Register a client and open their first episode."""
    confirmed = body.pop("confirmed_not_duplicate")
    with request_uow() as uow:
        client = operations.register_client(
            uow, current_principal(), body, confirmed_not_duplicate=confirmed
        )
    # Already the documented shape (ClientOut): a Response is sent as it is, not dumped again.
    return jsonify(client_json(client)), 201


@clients_bp.route("", methods=["GET"])
@require_roles(*STAFF)
@clients_bp.arguments(ClientSearchArgs, location="query")
@clients_bp.response(200, ClientPage)
def search_clients(args: dict[str, Any]) -> Any:
    """Search the clients you may see by reference, name, date of birth or external identifier."""
    with request_uow() as uow:
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
    # Already the documented shape (ClientPage): a Response is sent as it is, not dumped again.
    return jsonify(page_body(page, [client_json(client) for client in page.items]))


@clients_bp.route("/<client_id>", methods=["GET"])
@require_roles(*STAFF)
@clients_bp.response(200, ClientOut)
def read_client(client_id: str) -> Any:
    """A client's record (404 when it does not exist or you may not see it)."""
    with request_uow() as uow:
        return operations.read_client(uow, current_principal(), client_id)


@clients_bp.route("/<client_id>/record", methods=["GET"])
@require_roles(*STAFF)
@clients_bp.arguments(FirstPagesArgs, location="query")
@clients_bp.response(200, ClientRecordOut)
def read_client_record(args: dict[str, Any], client_id: str) -> Any:
    """The client record as a screen shows it, in one request: the client, consents, assessments,
    risk flags (the first ``limit`` of each, oldest first) and reminder consent. Audited as the
    five reads it replaces; 404 when the client does not exist or you may not see it."""
    with request_uow() as uow:
        record = operations.read_client_record(
            uow, current_principal(), client_id, limit=args["limit"]
        )
        assessments = record.assessments
        return {
            "client": record.client,
            "consents": page_body(record.consents, map(consent_out, record.consents.items)),
            "assessments": page_body(
                assessments,
                [assessment_out(uow, a, amended=record.superseded_by) for a in assessments.items],
            ),
            "risk_flags": page_body(record.risk_flags),
            "reminder_consent": record.reminder_consent,
        }


@clients_bp.route("/<client_id>", methods=["PATCH"])
@require_roles(*STAFF)
@clients_bp.arguments(ClientPatch, example={"preferred_language": "Spanish"})
@clients_bp.response(200, ClientOut)
def update_client(changes: dict[str, Any], client_id: str) -> Any:
    """Change a client's details; the event names the changed fields only."""
    with request_uow() as uow:
        return operations.update_client(uow, current_principal(), client_id, changes, request_now())


@clients_bp.route("/<client_id>/discharge", methods=["POST"])
@require_roles("case_manager", "supervisor", "admin")
@clients_bp.arguments(DischargeIn, example={"reason_code": "goals_met"})
@clients_bp.response(200, ClientOut)
@clients_bp.alt_response(409, description="The client is already discharged.")
def discharge(body: dict[str, Any], client_id: str) -> Any:
    """Close the client's current episode."""
    with request_uow() as uow:
        return operations.discharge(
            uow, current_principal(), client_id, body["reason_code"], request_now()
        )


@clients_bp.route("/<client_id>/readmit", methods=["POST"])
@require_roles("intake_worker", "supervisor", "admin")
@clients_bp.response(201, ClientOut)
@clients_bp.alt_response(409, description="The client already has an open episode.")
def readmit(client_id: str) -> Any:
    """Re-admit a discharged client: a new episode."""
    with request_uow() as uow:
        return operations.readmit(uow, current_principal(), client_id, request_now())


@clients_bp.route("/<client_id>/nominated-persons", methods=["POST"])
@require_roles(*STAFF)
@clients_bp.arguments(
    NominatedPersonIn,
    example={
        "name": "Jo Park",
        "relationship_to_client": "carer",
        "may_be_told": ["risk_information"],
    },
)
@clients_bp.response(201, NominatedPersonOut)
def add_nominated_person(body: dict[str, Any], client_id: str) -> Any:
    """Add a family member, carer or advocate and what they may be told."""
    with request_uow() as uow:
        return operations.add_nominated_person(
            uow, current_principal(), client_id, body, request_now()
        )


@clients_bp.route("/<client_id>/nominated-persons/<person_id>", methods=["DELETE"])
@require_roles(*STAFF)
@clients_bp.response(204)
def remove_nominated_person(client_id: str, person_id: str) -> None:
    """Remove a nominated person."""
    with request_uow() as uow:
        operations.remove_nominated_person(
            uow, current_principal(), client_id, person_id, request_now()
        )


@clients_bp.route("/<client_id>/assignment", methods=["POST"])
@require_roles("intake_worker", "supervisor", "admin")
@clients_bp.arguments(AssignmentIn, example={"case_manager_id": "cm-17", "override_reason": None})
@clients_bp.response(201, AssignmentOut)
@clients_bp.alt_response(
    409, description="The case manager is at their cap (a supervisor may override with a reason)."
)
def assign(body: dict[str, Any], client_id: str) -> Any:
    """Assign the client's episode to a named case manager, or automatically within a team."""
    with request_uow() as uow:
        _client, assignment = operations.assign(
            uow,
            current_principal(),
            client_id,
            case_manager_id=body["case_manager_id"],
            team=body["team"],
            override_reason=body["override_reason"],
            programme=body["programme"],
            now=request_now(),
        )
        return assignment
