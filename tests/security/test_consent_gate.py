"""No path to the partner without consent and capacity. A referral becomes ``requested`` — and
with it the partner's to see, in its list, its feed and its webhooks — only through ``/send``,
which checks the client's consent for that organisation and the service's room; every endpoint
that takes a referral, with every status, by every caller who may call it, is tried against drafts
that lack one or the other, and none gets through. The generic move endpoint refuses the move
``/send`` makes, naming ``/send``, even when consent and room are there."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.referrals.domain import ReferralStatus
from tests.referrals.conftest import HOUSING, PACKET, THERAPY, ReferralsApi
from tests.support.backends import Backend

CASE_MANAGER = ("cm-1", "case_manager")
SUPERVISOR = ("sup-1", "supervisor")
HOUSING_PARTNER = ("h-1", "partner", HOUSING)
THERAPY_PARTNER = ("t-1", "partner", THERAPY)
#: Every operation of the referrals API that acts on one referral, with who may call it. A new
#: one fails test_every_operation_on_a_referral_is_tried until it is added here.
REFERRAL_OPERATIONS: dict[str, list[tuple[str, ...]]] = {
    "GET /referrals/{referral_id}": [CASE_MANAGER, SUPERVISOR],
    "POST /referrals/{referral_id}/send": [CASE_MANAGER, SUPERVISOR],
    "POST /referrals/{referral_id}/status": [CASE_MANAGER, SUPERVISOR],
    "GET /partner/referrals/{referral_id}": [HOUSING_PARTNER, THERAPY_PARTNER],
    "POST /partner/referrals/{referral_id}/status": [HOUSING_PARTNER, THERAPY_PARTNER],
    "PATCH /referrals/{referral_id}": [CASE_MANAGER, SUPERVISOR],
    "GET /fhir/Task/{referral_id}": [HOUSING_PARTNER, THERAPY_PARTNER],
    "GET /fhir/ServiceRequest/{referral_id}": [HOUSING_PARTNER, THERAPY_PARTNER],
    "PATCH /fhir/Task/{referral_id}": [HOUSING_PARTNER, THERAPY_PARTNER],
    "PUT /fhir/Task/{referral_id}": [HOUSING_PARTNER, THERAPY_PARTNER],
}


def _body(operation: str, status: str) -> Any:
    """Each way to ask for ``status``: the moves' bodies, and the FHIR API's patch and Task."""
    if operation.endswith("/status"):
        return {"status": status, "reason_code": "other", "outcome": "Housed", "note": "n"}
    if operation == "PATCH /fhir/Task/{referral_id}":
        return [{"op": "replace", "path": "/status", "value": status}]
    if operation == "PUT /fhir/Task/{referral_id}":
        return {"resourceType": "Task", "status": status, "intent": "order"}
    if operation == "PATCH /referrals/{referral_id}":
        return {"packet": {"contact_details": {"phone": "555-0100"}}}
    return None


#: Moves that end a draft go last, so that every other status is asked of a draft.
STATUSES = sorted(
    (str(s) for s in ReferralStatus),
    key=lambda s: (s in ("cancelled", "entered-in-error"), s),
)


@pytest.fixture
def referrals(backend: Backend, data_dir: Path) -> Iterator[ReferralsApi]:
    api = ReferralsApi.start("referrals", backend, data_dir)
    api.directory()
    yield api
    api.runtime.database.dispose()


def _consent(api: ReferralsApi, client_id: str, organization: str, **dates: date) -> str:
    consent_id = str(uuid.uuid4())
    api.deliver(
        "intake.consent.granted.v1",
        {
            "consent_id": consent_id,
            "client_id": client_id,
            "organization_id": organization,
            "categories": ["contact_details", "assessment_summary"],
            "starts_on": dates.get("starts_on", date.today() - timedelta(days=30)),
            "expires_on": dates.get("expires_on"),
        },
    )
    return consent_id


def _revoke(api: ReferralsApi, client_id: str, consent_id: str) -> None:
    api.deliver(
        "intake.consent.revoked.v1",
        {
            "consent_id": consent_id,
            "client_id": client_id,
            "organization_id": HOUSING,
            "categories": ["contact_details", "assessment_summary"],
            "revoked_at": datetime.now(UTC),
            "reason": "revoked",
        },
    )


def _capacity(api: ReferralsApi, state: str) -> None:
    saved = api.call(
        "PUT",
        "/services/tenancy",
        as_=("admin-1", "admin"),
        json_body={
            "organization_id": HOUSING,
            "name": "tenancy",
            "domains": ["housing"],
            "capacity_status": state,
        },
    )
    assert saved.status_code == 200, saved.json


def _no_consent(api: ReferralsApi, client_id: str) -> None:
    pass


def _consent_for_another_organisation(api: ReferralsApi, client_id: str) -> None:
    _consent(api, client_id, THERAPY)


def _consent_expired_yesterday(api: ReferralsApi, client_id: str) -> None:
    _consent(api, client_id, HOUSING, expires_on=date.today() - timedelta(days=1))


def _consent_starting_next_week(api: ReferralsApi, client_id: str) -> None:
    _consent(api, client_id, HOUSING, starts_on=date.today() + timedelta(days=7))


def _consent_revoked(api: ReferralsApi, client_id: str) -> None:
    _revoke(api, client_id, _consent(api, client_id, HOUSING))


def _service_wait_listed(api: ReferralsApi, client_id: str) -> None:
    _consent(api, client_id, HOUSING)
    _capacity(api, "waitlist")


def _service_full(api: ReferralsApi, client_id: str) -> None:
    _consent(api, client_id, HOUSING)
    _capacity(api, "full")


#: What keeps each client's referral from Housing First, and the reason /send gives.
SITUATIONS: dict[str, tuple[Callable[[ReferralsApi, str], None], str]] = {
    "no consent at all": (_no_consent, "no_consent"),
    "consent for another organisation only": (_consent_for_another_organisation, "no_consent"),
    "consent expired yesterday": (_consent_expired_yesterday, "no_consent"),
    "consent starting next week": (_consent_starting_next_week, "no_consent"),
    "consent revoked": (_consent_revoked, "no_consent"),
    "consent in force, service wait-listed": (_service_wait_listed, "no_capacity"),
    "consent in force, service full": (_service_full, "no_capacity"),
}


def _drafts(api: ReferralsApi, client_id: str) -> list[str]:
    """A draft the case manager wrote, and one a plan's referral strategy made."""
    written = api.call(
        "POST",
        "/referrals",
        as_=CASE_MANAGER,
        json_body={"client_id": client_id, "service_id": "tenancy", "packet": PACKET},
    )
    assert written.status_code == 201, written.json
    strategy_id = str(uuid.uuid4())
    api.deliver(
        "planning.strategy.referral_requested.v1",
        {
            "plan_id": str(uuid.uuid4()),
            "client_id": client_id,
            "episode_id": str(uuid.uuid4()),
            "client_reference": "C-1042",
            "goal_id": str(uuid.uuid4()),
            "strategy_id": strategy_id,
            "domain": "housing",
            "partner_service_id": "tenancy",
            "requested_by": "cm-1",
            "requested_at": datetime.now(UTC),
        },
    )
    [planned] = [
        r["id"]
        for r in api.call("GET", "/referrals").json["items"]
        if r["strategy_id"] == strategy_id
    ]
    return [written.json["id"], planned]


def _try_everything(api: ReferralsApi, referral_id: str) -> list[tuple[str, str, int]]:
    """Every operation on the referral, every status, every caller; what each answered."""
    answers = []
    for status in STATUSES:
        for operation, callers in REFERRAL_OPERATIONS.items():
            method, template = operation.split(" ")
            path = template.format(referral_id=referral_id)
            body = _body(operation, status)
            for caller in callers:
                response = api.call(method, path, as_=caller, json_body=body)
                assert response.status_code < 500, (operation, status, caller, response.json)
                answers.append((operation, status, response.status_code))
    return answers


def _never_reached_the_partner(api: ReferralsApi, referral_id: str) -> None:
    stored = api.call("GET", f"/referrals/{referral_id}").json
    assert stored["status"] in ("draft", "cancelled", "entered-in-error"), stored
    assert stored["sent_at"] is None
    assert "requested" not in [t["to_status"] for t in stored["transitions"]]
    assert not [
        e for e in api.events("referral.sent.v1") if e["data"]["referral_id"] == referral_id
    ]
    for partner in (HOUSING_PARTNER, THERAPY_PARTNER):
        assert referral_id not in [
            r["id"] for r in api.call("GET", "/partner/referrals", as_=partner).json["items"]
        ]
        assert api.call("GET", f"/partner/referrals/{referral_id}", as_=partner).status_code == 404
        feed = api.call("GET", "/partner/events", as_=partner, query={"limit": 200}).json
        assert referral_id not in [e["data"]["referral_id"] for e in feed["items"]]


@pytest.mark.parametrize("situation", sorted(SITUATIONS))
def test_no_endpoint_status_or_caller_takes_a_referral_to_the_partner_without_consent_and_room(
    referrals: ReferralsApi, situation: str
) -> None:
    """Before the fix ``POST /referrals/{id}/status {"status": "requested"}`` sent a referral
    with no consent in force (200) that ``/send`` refused (409); the partner then saw it."""
    arrange, reason = SITUATIONS[situation]
    client_id = referrals.client(consent_to=None)
    arrange(referrals, client_id)
    for referral_id in _drafts(referrals, client_id):
        refused = referrals.call("POST", f"/referrals/{referral_id}/send")
        assert refused.status_code == 409 and refused.json["reason"] == reason, refused.json
        answers = _try_everything(referrals, referral_id)
        assert ("POST /referrals/{referral_id}/status", "requested", 200) not in answers
        _never_reached_the_partner(referrals, referral_id)


def test_the_generic_move_refuses_to_send_even_with_consent_and_room_naming_send(
    referrals: ReferralsApi,
) -> None:
    referral_id = referrals.referral(referrals.client(), send=False)
    for caller in (CASE_MANAGER, SUPERVISOR):
        refused = referrals.call(
            "POST",
            f"/referrals/{referral_id}/status",
            as_=caller,
            json_body={"status": "requested"},
        )
        assert refused.status_code == 409 and refused.content_type == "application/problem+json"
        assert refused.json["reason"] == "use_own_endpoint"
        assert refused.json["endpoint"] == f"POST /referrals/{referral_id}/send"
        assert refused.json["current_status"] == "draft"
        assert refused.json["allowed"] == ["cancelled", "entered-in-error"]
        assert f"POST /referrals/{referral_id}/send" in refused.json["detail"]
    _never_reached_the_partner(referrals, referral_id)
    sent = referrals.call("POST", f"/referrals/{referral_id}/send")
    assert sent.status_code == 200 and sent.json["status"] == "requested"
    assert [
        r["id"]
        for r in referrals.call("GET", "/partner/referrals", as_=HOUSING_PARTNER).json["items"]
    ]
    feed = referrals.call("GET", "/partner/events", as_=HOUSING_PARTNER).json["items"]
    assert referral_id in [e["data"]["referral_id"] for e in feed]


def test_a_draft_ended_before_sending_stays_out_of_the_partners_sight(
    referrals: ReferralsApi,
) -> None:
    """A partner used to list a draft the case manager cancelled or voided (any status but
    ``draft`` was shown): it was never sent, so it is none of the partner's business."""
    client_id = referrals.client()  # consent and room: only the draft's end is in question
    for ending in ("cancelled", "entered-in-error"):
        referral_id = referrals.referral(client_id, send=False)
        ended = referrals.call(
            "POST",
            f"/referrals/{referral_id}/status",
            json_body={"status": ending, "reason_code": "duplicate"},
        )
        assert ended.status_code == 200, ended.json
        _never_reached_the_partner(referrals, referral_id)


def test_every_operation_on_a_referral_is_tried(referrals: ReferralsApi) -> None:
    spec = referrals.http.get("/openapi.json").json
    on_a_referral = {
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        if "{referral_id}" in path
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert on_a_referral == set(REFERRAL_OPERATIONS)
