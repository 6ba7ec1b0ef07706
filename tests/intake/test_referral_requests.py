"""A partner's referral to the agency reaches intake as a new request."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from shared.contracts import REGISTRY, Event
from tests.intake.conftest import IntakeApi

TYPE = "casehub.referrals.inbound_referral.received.v1"


def _received(intake: IntakeApi, inbound_id: str, given_name: str) -> None:
    event = Event(
        type=TYPE,
        source="/referrals",
        subject=f"inbound_referral/{inbound_id}",
        data=REGISTRY.validate(
            TYPE,
            {
                "inbound_referral_id": inbound_id,
                "organization_id": "housing-first",
                "client_reference": None,
                "given_name": given_name,
                "family_name": "Rivera",
                "phone": "555-0199",
                "email": None,
                "reason": "Tenant asked for mental-health support",
                "domains": ["mental_state"],
                "related_referral_id": None,
                "received_at": datetime.now(UTC),
            },
        ),
        id=str(uuid.uuid4()),
    )
    with intake.runtime.unit_of_work() as uow:
        intake.runtime.handlers()["referrals.inbound_referral.received.v1"](event, uow)


def test_intake_sees_a_partners_referral_as_a_new_request_once(intake: IntakeApi) -> None:
    first = str(uuid.uuid4())
    _received(intake, first, "Sam")
    _received(intake, first, "Sam")  # redelivered
    _received(intake, str(uuid.uuid4()), "Alex")
    listed = intake.call("GET", "/referral-requests", query={"status": "new"}).json
    assert [r["given_name"] for r in listed["items"]] == ["Sam", "Alex"]
    assert listed["items"][0]["organization_id"] == "housing-first"
    assert listed["items"][0]["status"] == "new"
    partner = intake.call("GET", "/referral-requests", as_=("h-1", "partner"))
    assert partner.status_code == 403
    case_manager = intake.call("GET", "/referral-requests", as_=("cm-1", "case_manager"))
    assert case_manager.status_code == 403


def test_intake_works_a_request_once_and_the_partner_is_told_only_the_outcome(
    intake: IntakeApi,
) -> None:
    registered_as, declined = str(uuid.uuid4()), str(uuid.uuid4())
    _received(intake, registered_as, "Sam")
    _received(intake, declined, "Alex")
    client = intake.register("Sam", "Rivera")
    path = f"/referral-requests/{registered_as}/decide"

    assert intake.call("POST", path, json_body={"outcome": "registered"}).status_code == 422
    done = intake.call("POST", path, json_body={"outcome": "registered", "client_id": client["id"]})
    assert done.status_code == 200, done.json
    assert done.json["status"] == "registered" and done.json["client_id"] == client["id"]
    assert done.json["decided_by"] == "iw-1"
    again = intake.call("POST", path, json_body={"outcome": "declined", "reason": "No"})
    assert again.status_code == 409

    decline = f"/referral-requests/{declined}/decide"
    assert intake.call("POST", decline, json_body={"outcome": "declined"}).status_code == 422
    assert (
        intake.call("POST", decline, json_body={"outcome": "matched", "client_id": "nobody"})
    ).status_code == 404
    refused = intake.call(
        "POST", decline, json_body={"outcome": "declined", "reason": "Outside our area"}
    )
    assert refused.status_code == 200, refused.json
    assert refused.json["decision_reason"] == "Outside our area"
    unknown = intake.call(
        "POST", "/referral-requests/nope/decide", json_body={"outcome": "declined", "reason": "x"}
    )
    assert unknown.status_code == 404
    by_cm = intake.call(
        "POST",
        decline,
        as_=("cm-1", "case_manager"),
        json_body={"outcome": "declined", "reason": "x"},
    )
    assert by_cm.status_code == 403

    told = {e["data"]["request_id"]: e for e in intake.events("referral_request.decided.v1")}
    assert set(told) == {registered_as, declined}
    assert told[registered_as]["data"]["outcome"] == "registered"
    assert told[declined]["data"] | {"decided_at": None} == {
        "request_id": declined,
        "organization_id": "housing-first",
        "outcome": "declined",
        "reason": "Outside our area",
        "decided_at": None,
    }
    assert all(client["id"] not in str(e) and "Sam" not in str(e) for e in told.values())
    still_new = intake.call("GET", "/referral-requests", query={"status": "new"}).json["items"]
    assert still_new == []
    listed = intake.call("GET", "/referral-requests", query={"status": "declined"}).json["items"]
    assert [r["id"] for r in listed] == [declined]
