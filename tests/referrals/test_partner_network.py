"""The partner network's fixes (issue 19): moves as the SDOH IG has them, subscriptions a partner
manages, each partner's own feed, the OpenAPI a generated client needs, drafts a case manager
fills, and partners referring people back to the agency."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.referrals import operations
from services.referrals.partner_docs import GUIDE, documented, event_data_reference
from shared.config import Settings
from shared.outbound import OutboundGuard, OutboundRefused
from shared.webhooks import verify
from tests.referrals.conftest import HOUSING, LOOPBACK_WEBHOOKS, THERAPY, ReferralsApi

PARTNER = ("h-1", "partner", HOUSING)
OTHER = ("t-1", "partner", THERAPY)
SENT = "casehub.referrals.referral.sent.v1"


def _move(referrals: ReferralsApi, referral_id: str, status: str, **extra: Any) -> Any:
    return referrals.partner_move(referral_id, status, **extra)


# -- moves -------------------------------------------------------------------------------------
def test_the_performer_may_cancel_once_accepted_with_a_reason_code(
    referrals: ReferralsApi,
) -> None:
    referral_id = referrals.referral(referrals.client())
    early = _move(referrals, referral_id, "cancelled", reason_code="client_declined")
    assert early.status_code == 403 and early.json["allowed"] == ["accepted", "rejected"]
    assert _move(referrals, referral_id, "accepted").status_code == 200
    unexplained = _move(referrals, referral_id, "cancelled")  # needs a reason code: 422 naming it
    assert unexplained.status_code == 422 and "reason_code" in unexplained.json["errors"]["json"]
    cancelled = _move(referrals, referral_id, "cancelled", reason_code="client_moved")
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    [event] = [
        e
        for e in referrals.call("GET", "/partner/events", as_=PARTNER).json["items"]
        if e["type"].endswith("referral.cancelled.v1")
    ]
    assert event["data"]["by_side"] == "partner" and event["data"]["reason_code"] == "client_moved"


def test_a_blank_outcome_does_not_complete_a_referral(referrals: ReferralsApi) -> None:
    referral_id = referrals.referral(referrals.client())
    _move(referrals, referral_id, "accepted")
    blank = _move(referrals, referral_id, "completed", outcome="  \n\t ")
    assert blank.status_code == 422 and "outcome" in blank.json["errors"]["json"]
    seen = referrals.call("GET", f"/partner/referrals/{referral_id}", as_=PARTNER).json
    assert seen["status"] == "accepted" and seen["outcome"] is None


def test_a_refused_move_names_only_the_callers_own_moves(referrals: ReferralsApi) -> None:
    referral_id = referrals.referral(referrals.client())
    illegal = _move(referrals, referral_id, "completed", outcome="Housed")
    assert illegal.status_code == 409 and illegal.json["allowed"] == ["accepted", "rejected"]
    _move(referrals, referral_id, "accepted")
    referrer = referrals.call(
        "POST", f"/referrals/{referral_id}/status", json_body={"status": "in-progress"}
    )
    assert referrer.status_code == 403
    assert referrer.json["allowed"] == ["cancelled", "entered-in-error"]


def test_referral_completed_carries_the_outcome(referrals: ReferralsApi) -> None:
    referral_id = referrals.referral(referrals.client())
    _move(referrals, referral_id, "accepted")
    _move(referrals, referral_id, "completed", outcome="  Tenancy signed ")
    [completed] = [
        e
        for e in referrals.call("GET", "/partner/events", as_=PARTNER).json["items"]
        if e["type"] == "casehub.referrals.referral.completed.v1"
    ]
    assert completed["data"]["outcome"] == "Tenancy signed"


# -- subscriptions -----------------------------------------------------------------------------
class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        _Receiver.received.append(
            (dict(self.headers), self.rfile.read(int(self.headers["Content-Length"])))
        )
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/casehub"
    server.shutdown()


def _deliver_all(referrals: ReferralsApi, now: datetime) -> None:
    while operations.deliver_webhooks(
        referrals.runtime.unit_of_work, lambda: now, outbound=referrals.runtime.outbound
    ):
        pass


@LOOPBACK_WEBHOOKS
def test_a_partner_changes_and_deletes_its_subscriptions(
    referrals: ReferralsApi, receiver: str
) -> None:
    made = referrals.call("POST", "/partner/webhooks", as_=PARTNER, json_body={"url": receiver})
    assert made.status_code == 201 and made.json["secret"].startswith("whsec_")
    path = f"/partner/webhooks/{made.json['id']}"
    assert referrals.call("PATCH", path, as_=OTHER, json_body={"active": False}).status_code == 404
    changed = referrals.call(
        "PATCH", path, as_=PARTNER, json_body={"event_types": [SENT], "active": False}
    )
    assert changed.status_code == 200 and changed.json["event_types"] == [SENT]
    assert changed.json["active"] is False and "secret" not in changed.json
    referrals.referral(referrals.client())
    _deliver_all(referrals, datetime.now(UTC))
    assert _Receiver.received == []  # off: nothing sent
    assert referrals.call("PATCH", path, as_=PARTNER, json_body={"active": True}).json["active"]
    assert referrals.call("DELETE", path, as_=OTHER).status_code == 404
    assert referrals.call("DELETE", path, as_=PARTNER).status_code == 204
    assert referrals.call("GET", "/partner/webhooks", as_=PARTNER).json["items"] == []
    assert referrals.call("DELETE", path, as_=PARTNER).status_code == 404


def test_unknown_event_types_are_refused(referrals: ReferralsApi) -> None:
    url = "https://partner.example/casehub"
    refused = referrals.call(
        "POST",
        "/partner/webhooks",
        as_=PARTNER,
        json_body={"url": url, "event_types": ["casehub.referrals.referral.sent.v2"]},
    )
    assert refused.status_code == 422
    assert "event_types" in json.dumps(refused.json["errors"])
    made = referrals.call("POST", "/partner/webhooks", as_=PARTNER, json_body={"url": url})
    assert made.status_code == 201, made.json
    patched = referrals.call(
        "PATCH",
        f"/partner/webhooks/{made.json['id']}",
        as_=PARTNER,
        json_body={"event_types": ["referral.sent"]},
    )
    assert patched.status_code == 422


def test_https_is_required_outside_the_embedded_default(data_dir: Path) -> None:
    development = Settings.from_env(
        "referrals",
        {"CASEHUB_DATA_DIR": str(data_dir), "CASEHUB_ALLOW_PRIVATE_WEBHOOKS": "1"},
    )
    assert development.is_embedded_default
    assert OutboundGuard.for_settings(development).check("http://127.0.0.1:9/hook")
    deployed = replace(development, database_url="postgresql+psycopg://db/referrals")
    with pytest.raises(OutboundRefused, match="https"):
        OutboundGuard.for_settings(deployed).check("http://127.0.0.1:9/hook")
    assert OutboundGuard.for_settings(deployed).check("https://127.0.0.1:9/hook")


@LOOPBACK_WEBHOOKS
def test_both_secrets_sign_during_a_rotation_then_only_the_new_one(
    referrals: ReferralsApi, receiver: str
) -> None:
    old = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    made = referrals.call(
        "POST",
        "/partner/webhooks",
        as_=PARTNER,
        json_body={"url": receiver, "secret": old, "event_types": [SENT]},
    )
    rotated = referrals.call(
        "POST",
        f"/partner/webhooks/{made.json['id']}/rotate-secret",
        as_=PARTNER,
        json_body={"overlap_seconds": 3600},
    )
    assert rotated.status_code == 200, rotated.json
    new = rotated.json["secret"]
    assert new.startswith("whsec_") and new != old
    referrals.referral(referrals.client())
    _deliver_all(referrals, datetime.now(UTC))
    referrals.referral(referrals.client())
    _deliver_all(referrals, datetime.now(UTC) + timedelta(hours=2))  # the overlap is over
    during, after = _Receiver.received
    for secret in (old, new):
        assert Webhook(secret).verify(during[1], during[0])["type"] == SENT
        assert verify(secret, during[0], during[1])
    assert Webhook(new).verify(after[1], after[0])
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(after[1], after[0])
    assert not verify(old, after[0], after[1])


# -- the feed ----------------------------------------------------------------------------------
def test_each_partner_has_its_own_feed_sequence(referrals: ReferralsApi) -> None:
    for _ in range(2):
        referrals.referral(referrals.client())
        referrals.referral(referrals.client(consent_to=THERAPY), "cbt")
    for who in (PARTNER, OTHER):
        first = referrals.call("GET", "/partner/events", as_=who, query={"limit": 3}).json
        rest = referrals.call(
            "GET", "/partner/events", as_=who, query={"cursor": first["next_cursor"]}
        ).json
        assert first["next_cursor"] == "3" and rest["next_cursor"] == "4"  # 1, 2, 3, 4: no gaps
        assert len(first["items"]) == 3 and len(rest["items"]) == 1
        ids = [e["id"] for e in first["items"] + rest["items"]]
        assert len(set(ids)) == 4
    past = referrals.call("GET", "/partner/events", as_=PARTNER, query={"cursor": "5"})
    assert past.status_code == 422
    at_end = referrals.call("GET", "/partner/events", as_=PARTNER, query={"cursor": "4"}).json
    assert at_end == {"items": [], "next_cursor": "4"}


def test_the_webhook_log_shows_the_partners_own_sequence(referrals: ReferralsApi) -> None:
    referrals.referral(referrals.client(consent_to=THERAPY), "cbt")  # another partner's events
    made = referrals.call(
        "POST",
        "/partner/webhooks",
        as_=PARTNER,
        json_body={"url": "https://partner.example/casehub"},
    ).json
    referrals.referral(referrals.client())
    log = referrals.call("GET", f"/partner/webhooks/{made['id']}/deliveries", as_=PARTNER).json[
        "items"
    ]
    assert [entry["sequence"] for entry in log] == [1, 2]
    assert all("partner_event_id" not in entry and entry["event_id"] for entry in log)


# -- OpenAPI and the guide ---------------------------------------------------------------------
def test_every_partner_operation_declares_the_api_key_and_the_feed_items_a_schema(
    referrals: ReferralsApi,
) -> None:
    spec = referrals.http.get("/openapi.json").json
    scheme = spec["components"]["securitySchemes"]["partnerApiKey"]
    assert scheme == {**scheme, "type": "apiKey", "in": "header", "name": "X-Api-Key"}
    partner_operations = [
        operation
        for path, item in spec["paths"].items()
        if path.startswith("/partner")
        for method, operation in item.items()
        if method in ("get", "post", "patch", "put", "delete")
    ]
    assert len(partner_operations) >= 10
    for operation in partner_operations:
        assert {"partnerApiKey": []} in operation["security"], operation["operationId"]
    feed = spec["components"]["schemas"]["FeedPage"]["properties"]["items"]["items"]
    assert feed["$ref"].endswith("/CloudEventOut")
    assert {"id", "type", "source", "specversion", "data"} <= set(
        spec["components"]["schemas"]["CloudEventOut"]["properties"]
    )


def test_the_guide_documents_every_event_types_data_as_the_contracts_say() -> None:
    """Regenerate with ``python -m services.referrals.partner_docs`` when a contract changes."""
    assert documented(GUIDE.read_text()) == event_data_reference()


# -- drafts ------------------------------------------------------------------------------------
def test_a_drafts_packet_is_editable_with_consented_categories_only(
    referrals: ReferralsApi,
) -> None:
    client_id = referrals.client(categories=["contact_details", "assessment_summary"])
    created = referrals.call(
        "POST", "/referrals", json_body={"client_id": client_id, "service_id": "tenancy"}
    ).json
    assert created["packet"] == {}
    assert created["shareable_categories"] == ["assessment_summary", "contact_details"]
    path = f"/referrals/{created['id']}"
    refused = referrals.call("PATCH", path, json_body={"packet": {"diagnosis": "F20.0"}})
    assert refused.status_code == 422 and "diagnosis" in json.dumps(refused.json)
    filled = referrals.call(
        "PATCH", path, json_body={"packet": {"contact_details": {"phone": "555-0100"}}}
    )
    assert filled.status_code == 200 and filled.json["packet"] == {
        "contact_details": {"phone": "555-0100"}
    }
    assert referrals.call("POST", f"{path}/send").status_code == 200
    seen = referrals.call("GET", f"/partner/referrals/{created['id']}", as_=PARTNER).json
    assert seen["packet"] == {"contact_details": {"phone": "555-0100"}}
    late = referrals.call("PATCH", path, json_body={"packet": {}})
    assert late.status_code == 409


def test_a_strategy_without_a_directory_service_stays_as_a_draft_needing_one(
    referrals: ReferralsApi,
) -> None:
    client_id = referrals.client()
    referrals.deliver(
        "planning.strategy.referral_requested.v1",
        {
            "plan_id": "p-1",
            "client_id": client_id,
            "episode_id": "e-1",
            "client_reference": "C-1042",
            "goal_id": "g-1",
            "strategy_id": "s-9",
            "domain": "housing",
            "partner_service_id": "not-in-the-directory-yet",
            "requested_by": "cm-1",
            "requested_at": datetime.now(UTC),
        },
    )
    [draft] = referrals.call("GET", "/referrals", query={"status": "draft"}).json["items"]
    assert draft["needs_service"] is True and draft["organization_id"] is None
    refused = referrals.call("POST", f"/referrals/{draft['id']}/send")
    assert refused.status_code == 409 and refused.json["reason"] == "no_service"
    chosen = referrals.call(
        "PATCH",
        f"/referrals/{draft['id']}",
        json_body={"service_id": "tenancy", "packet": {"contact_details": {"phone": "1"}}},
    )
    assert chosen.status_code == 200 and chosen.json["needs_service"] is False
    assert chosen.json["organization_id"] == HOUSING
    assert referrals.call("POST", f"/referrals/{draft['id']}/send").status_code == 200


# -- referring back ----------------------------------------------------------------------------
def test_a_partner_refers_someone_to_the_agency(referrals: ReferralsApi) -> None:
    mine = referrals.referral(referrals.client())
    body = {
        "given_name": "Sam",
        "family_name": "Rivera",
        "phone": "555-0199",
        "reason": "Tenant asked for mental-health support",
        "domains": ["mental_state"],
        "related_referral_id": mine,
    }
    received = referrals.call("POST", "/partner/inbound-referrals", as_=PARTNER, json_body=body)
    assert received.status_code == 202, received.json
    [event] = referrals.events("inbound_referral.received.v1")
    assert event["data"]["organization_id"] == HOUSING
    assert event["data"]["inbound_referral_id"] == received.json["id"]
    assert event["data"]["related_referral_id"] == mine
    someone_elses = referrals.call("POST", "/partner/inbound-referrals", as_=OTHER, json_body=body)
    assert someone_elses.status_code == 404
    blank = referrals.call(
        "POST", "/partner/inbound-referrals", as_=PARTNER, json_body={**body, "reason": "  "}
    )
    assert blank.status_code == 422


def test_a_partner_follows_its_referral_to_the_agency_until_intake_decides(
    referrals: ReferralsApi,
) -> None:
    body = {"given_name": "Sam", "family_name": "Rivera", "reason": "Asked for support"}
    sent = referrals.call("POST", "/partner/inbound-referrals", as_=PARTNER, json_body=body)
    assert sent.status_code == 202, sent.json
    inbound_id = sent.json["id"]
    mine = referrals.call("GET", "/partner/inbound-referrals", as_=PARTNER).json["items"]
    assert [(i["id"], i["status"]) for i in mine] == [(inbound_id, "received")]
    assert "Sam" not in str(mine)  # the person's details went to intake, not kept here
    assert referrals.call("GET", "/partner/inbound-referrals", as_=OTHER).json["items"] == []
    path = f"/partner/inbound-referrals/{inbound_id}"
    assert referrals.call("GET", path, as_=OTHER).status_code == 404

    decided = {
        "request_id": inbound_id,
        "organization_id": HOUSING,
        "outcome": "declined",
        "reason": "Outside our area; try Eastside CMHT",
        "decided_at": "2026-11-30T10:00:00+00:00",
    }
    for _ in range(2):  # redelivered: told once
        referrals.deliver("intake.referral_request.decided.v1", decided)
    followed = referrals.call("GET", path, as_=PARTNER)
    assert followed.status_code == 200, followed.json
    assert followed.json["status"] == "declined"
    assert followed.json["reason"] == "Outside our area; try Eastside CMHT"
    feed = [
        e
        for e in referrals.call("GET", "/partner/events", as_=PARTNER).json["items"]
        if e["type"] == "casehub.referrals.inbound_referral.decided.v1"
    ]
    assert [e["data"]["outcome"] for e in feed] == ["declined"]
    assert feed[0]["data"]["inbound_referral_id"] == inbound_id
    other_feed = referrals.call("GET", "/partner/events", as_=OTHER).json["items"]
    assert not [e for e in other_feed if "inbound_referral" in e["type"]]
    declined = referrals.call(
        "GET", "/partner/inbound-referrals", as_=PARTNER, query={"status": "declined"}
    ).json["items"]
    assert [i["id"] for i in declined] == [inbound_id]
