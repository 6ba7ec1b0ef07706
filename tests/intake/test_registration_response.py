"""What ``POST /clients`` answers is the documented ``ClientOut`` of the record it stored: the
registration writes its rows with prebuilt statements and its JSON by hand (no ORM flush, no
reload), so these tests hold that answer equal, field for field, to the schema's dump of the
client loaded back from the database, and to what the audit trail and the outbox say."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from services.intake.models import Client, DuplicateReview
from services.intake.schemas import ClientOut
from tests.intake.conftest import IntakeApi

EVERYTHING = {
    "given_name": "Alex",
    "family_name": "Rivera",
    "date_of_birth": "1988-04-12",
    "external_id": "NHS-123",
    "preferred_language": "Spanish",
    "contact": {"phone": "555-0100", "email": "alex@example.org", "address": "1 Main St"},
    "advance_statement": "Call my sister first; no depot injections.",
    "programme": "intensive-case-management",
    "nominated_persons": [
        {
            "name": "Sam Rivera",
            "relationship_to_client": "family",
            "phone": "555-0101",
            "may_be_told": ["contact_details", "risk_information"],
        },
        {"name": "Jo Park", "relationship_to_client": "carer", "email": "jo@example.org"},
    ],
}
BARE = {"given_name": "Kim", "family_name": "Lee", "date_of_birth": "1990-01-31"}


def _stored(intake: IntakeApi, client_id: str) -> dict[str, Any]:
    """ClientOut's dump of the record as stored, through the JSON encoder the API uses."""
    with intake.runtime.database.read_session() as session:
        client = session.scalars(select(Client).where(Client.id == client_id)).one()
        dumped = ClientOut().dump(client)
    with intake.http.application.app_context():
        encoded = intake.http.application.json.dumps(dumped)
    return json.loads(encoded)


@pytest.mark.parametrize("body", [EVERYTHING, BARE], ids=["every-field", "required-only"])
def test_the_registration_answer_is_the_schema_dump_of_the_stored_record(
    intake: IntakeApi, body: dict[str, Any]
) -> None:
    response = intake.call("POST", "/clients", json_body=body)
    assert response.status_code == 201, response.json
    assert response.content_type == "application/json"
    assert response.json == _stored(intake, response.json["id"])
    assert set(response.json) == set(ClientOut().fields)


def test_the_answer_the_event_and_the_audit_row_name_the_same_client(intake: IntakeApi) -> None:
    client = intake.register(**{k: v for k, v in EVERYTHING.items() if "_name" not in k})
    [event] = intake.events("client.registered.v1")
    assert event["subject"] == f"client/{client['id']}"
    assert event["data"]["episode_id"] == client["episodes"][0]["id"]
    assert event["data"]["programme"] == "intensive-case-management"
    assert event["data"]["registered_at"] == client["created_at"]
    audit = intake.call(
        "GET", "/audit", as_=("admin-1", "admin"), query={"client_id": client["id"]}
    )
    assert [
        (e["actor"], e["action"], e["entity"], e["entity_id"]) for e in audit.json["items"]
    ] == [("iw-1", "register", "client", client["id"])]


def test_a_confirmed_and_an_unseen_duplicate_answer_the_same_way(intake: IntakeApi) -> None:
    intake.case_manager("cm-1")
    first = intake.register(**BARE)
    assert intake.assign(first["id"], "cm-1").status_code == 201
    unseen = intake.call("POST", "/clients", as_=("iw-2", "intake_worker"), json_body=BARE)
    assert unseen.status_code == 201
    assert unseen.json == _stored(intake, unseen.json["id"])
    assert first["id"] not in unseen.get_data(as_text=True)
    confirmed = intake.call("POST", "/clients", json_body={**BARE, "confirmed_not_duplicate": True})
    assert confirmed.status_code == 201
    assert confirmed.json == _stored(intake, confirmed.json["id"])
    with intake.runtime.database.read_session() as session:
        reviews = session.scalars(select(DuplicateReview)).all()
        assert [(r.new_client_id, r.existing_client_id) for r in reviews] == [
            (unseen.json["id"], first["id"])
        ]
