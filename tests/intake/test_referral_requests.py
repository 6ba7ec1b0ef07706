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
