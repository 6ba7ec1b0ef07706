"""Partners: API keys, the pull feed, signed webhooks with retries and disabling, and referrals
that end when consent is revoked, the client is discharged or the partner stays silent."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from services.referrals import domain, operations
from shared.db import utc_now
from shared.webhooks import verify
from tests.referrals.conftest import HOUSING, LOOPBACK_WEBHOOKS, ReferralsApi

PARTNER = ("h-1", "partner", HOUSING)
SECRET = "partner-secret-0123456789"


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []
    answer = 204

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append((dict(self.headers), body))
        self.send_response(_Receiver.answer)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _receiver() -> HTTPServer:
    _Receiver.received, _Receiver.answer = [], 204
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _deliver(referrals: ReferralsApi, now: datetime | None = None) -> int:
    return operations.deliver_webhooks(
        referrals.runtime.unit_of_work,
        (lambda: now) if now is not None else utc_now,
        outbound=referrals.runtime.outbound,
    )


@LOOPBACK_WEBHOOKS
def test_webhooks_carry_signed_cloudevents_a_partner_can_verify(referrals: ReferralsApi) -> None:
    server = _receiver()
    try:
        subscribed = referrals.call(
            "POST",
            "/partner/webhooks",
            as_=PARTNER,
            json_body={"url": f"http://127.0.0.1:{server.server_port}/casehub", "secret": SECRET},
        )
        assert subscribed.status_code == 201 and "secret" not in subscribed.json
        referral_id = referrals.referral(referrals.client())
        referrals.partner_move(referral_id, "accepted")
        assert (
            _deliver(referrals) == 3
        )  # status_changed + sent on sending, status_changed on accepting
    finally:
        server.shutdown()
    assert len(_Receiver.received) == 3
    for headers, body in _Receiver.received:
        assert verify(SECRET, headers, body)
        event = json.loads(body)
        assert event["specversion"] == "1.0" and event["data"]["referral_id"] == referral_id
        assert "client_id" not in event["data"]
    path = f"/partner/webhooks/{subscribed.json['id']}/deliveries"
    first = referrals.call("GET", path, as_=PARTNER, query={"limit": 2}).json
    rest = referrals.call(
        "GET", path, as_=PARTNER, query={"limit": 2, "cursor": first["next_cursor"]}
    ).json
    log = first["items"] + rest["items"]
    assert len(log) == 3 and rest["next_cursor"] is None
    assert {entry["status"] for entry in log} == {"delivered"}


def _subscribe(referrals: ReferralsApi, server: HTTPServer, **extra: Any) -> dict[str, Any]:
    subscribed = referrals.call(
        "POST",
        "/partner/webhooks",
        as_=PARTNER,
        json_body={
            "url": f"http://127.0.0.1:{server.server_port}/casehub",
            "secret": SECRET,
            **extra,
        },
    )
    assert subscribed.status_code == 201, subscribed.json
    return subscribed.json  # type: ignore[no-any-return]


@LOOPBACK_WEBHOOKS
def test_failing_webhook_is_retried_through_the_backoff_schedule_then_disabled(
    referrals: ReferralsApi,
) -> None:
    """One attempt per wait of the documented schedule (30 s doubling to 1 h) and one after it:
    only then is the subscription disabled, and the partner's admin contact is told."""
    referrals.call(
        "PUT",
        f"/organizations/{HOUSING}",
        as_=("admin-1", "admin"),
        json_body={
            "name": HOUSING,
            "contacts": [
                {"name": "Front desk", "email": "desk@housing.example"},
                {"name": "IT", "email": "it@housing.example", "role": "admin"},
            ],
        },
    )
    server = _receiver()
    _Receiver.answer = 500
    try:
        subscribed = _subscribe(
            referrals, server, event_types=["casehub.referrals.referral.sent.v1"]
        )
        referrals.referral(referrals.client())
        moment = utc_now()
        for attempt in range(1, domain.DISABLE_AFTER_ATTEMPTS + 1):
            [subscription] = referrals.call("GET", "/partner/webhooks", as_=PARTNER).json["items"]
            assert subscription["active"] is True, attempt  # not before the schedule is spent
            assert _deliver(referrals, moment) == 1
            assert _deliver(referrals, moment) == 0  # backoff: not again at once
            moment += timedelta(seconds=domain.webhook_backoff_seconds(attempt))
        assert _deliver(referrals, moment + timedelta(days=1)) == 0  # disabled: nothing more
    finally:
        server.shutdown()
    [subscription] = referrals.call("GET", "/partner/webhooks", as_=PARTNER).json["items"]
    assert subscription["active"] is False
    assert (
        f"after {domain.DISABLE_AFTER_ATTEMPTS} failed attempts"
        in (subscription["disabled_reason"])
    )
    [delivery] = referrals.call(
        "GET", f"/partner/webhooks/{subscribed['id']}/deliveries", as_=PARTNER
    ).json["items"]
    assert delivery["attempts"] == domain.DISABLE_AFTER_ATTEMPTS
    assert delivery["last_error"] == "delivery failed: HTTP 5xx"  # the class, nothing more
    assert len(_Receiver.received) == domain.DISABLE_AFTER_ATTEMPTS
    [told] = referrals.events("webhook.disabled.v1")
    assert told["data"]["contact_email"] == "it@housing.example"
    assert told["data"]["subscription_id"] == subscribed["id"]


@LOOPBACK_WEBHOOKS
def test_a_short_outage_during_many_events_does_not_disable_the_webhook(
    referrals: ReferralsApi,
) -> None:
    """A 40-second outage while 5 referrals arrive: many failed attempts, but not over time."""
    server = _receiver()
    _Receiver.answer = 503
    try:
        _subscribe(referrals, server)
        for _ in range(5):
            referrals.referral(referrals.client())
        start = utc_now()
        while _deliver(referrals, start):
            pass
        assert len(_Receiver.received) >= domain.DISABLE_AFTER_ATTEMPTS  # many failures at once
        [subscription] = referrals.call("GET", "/partner/webhooks", as_=PARTNER).json["items"]
        assert subscription["active"] is True and subscription["failing_since"]
        failed = len(_Receiver.received)
        _Receiver.answer = 204  # back after 40 s: every event is delivered at its next attempt
        while _deliver(referrals, start + timedelta(seconds=40)):
            pass
        assert len(_Receiver.received) == failed + 10  # sent + status_changed per referral
    finally:
        server.shutdown()
    [subscription] = referrals.call("GET", "/partner/webhooks", as_=PARTNER).json["items"]
    assert subscription["active"] is True and subscription["consecutive_failures"] == 0
    assert not referrals.events("webhook.disabled.v1")


def test_the_pull_feed_pages_with_no_gaps_or_repeats(referrals: ReferralsApi) -> None:
    for _ in range(4):
        referral_id = referrals.referral(referrals.client())
        referrals.partner_move(referral_id, "accepted")
    seen: list[str] = []
    cursor = None
    while True:
        page = referrals.call(
            "GET",
            "/partner/events",
            as_=PARTNER,
            query={"limit": 3, **({"cursor": cursor} if cursor else {})},
        ).json
        seen += [event["id"] for event in page["items"]]
        cursor = page["next_cursor"]
        if not page["items"]:
            break
    assert len(seen) == len(set(seen)) == 12  # sent + status_changed, then accepted, per referral
    referral_id = referrals.referral(referrals.client())
    newer = referrals.call("GET", "/partner/events", as_=PARTNER, query={"after": cursor}).json[
        "items"
    ]
    assert [e["data"]["referral_id"] for e in newer if e["data"]["referral_id"] == referral_id]
    assert not set(seen) & {e["id"] for e in newer}
    by_old_name = referrals.call("GET", "/partner/events", as_=PARTNER, query={"after": cursor})
    assert by_old_name.json["items"] == newer  # `after`, the name integrations first used
    both = referrals.call(
        "GET", "/partner/events", as_=PARTNER, query={"after": cursor, "cursor": cursor}
    )
    assert both.status_code == 422 and "after" in both.json["errors"]["query"]


def test_api_keys_authenticate_partners_until_revoked(referrals: ReferralsApi) -> None:
    referral_id = referrals.referral(referrals.client())
    issued = referrals.call(
        "POST", f"/organizations/{HOUSING}/api-keys", as_=("admin-1", "admin")
    ).json
    headers = {"X-Api-Key": issued["key"]}
    listed = referrals.http.get("/partner/referrals", headers=headers)
    assert listed.status_code == 200 and [r["id"] for r in listed.json["items"]] == [referral_id]
    assert (
        referrals.http.get(
            "/partner/referrals", headers={"X-Api-Key": issued["key"] + "x"}
        ).status_code
        == 401
    )
    assert (
        referrals.call(
            "POST", f"/api-keys/{issued['id']}/revoke", as_=("admin-1", "admin")
        ).status_code
        == 200
    )
    assert referrals.http.get("/partner/referrals", headers=headers).status_code == 401


def test_revoked_consent_cancels_open_referrals_and_tells_the_partner(
    referrals: ReferralsApi,
) -> None:
    client_id = str(uuid.uuid4())
    referrals.deliver(
        "intake.case.assigned.v1",
        {
            "client_id": client_id,
            "client_reference": "C-7",
            "episode_id": "e",
            "case_manager_id": "cm-1",
            "supervisor_id": "sup-1",
            "assigned_by": "iw-1",
            "method": "explicit",
            "over_cap": False,
            "assigned_at": datetime.now(UTC),
        },
    )
    consent_id = referrals.consent(client_id, HOUSING, ["contact_details"])
    referral_id = referrals.referral(client_id)
    referrals.deliver(
        "intake.consent.revoked.v1",
        {
            "consent_id": consent_id,
            "client_id": client_id,
            "organization_id": HOUSING,
            "categories": ["contact_details"],
            "revoked_at": datetime.now(UTC),
            "reason": "revoked",
        },
    )
    seen = referrals.call("GET", f"/partner/referrals/{referral_id}", as_=PARTNER).json
    assert seen["status"] == "cancelled" and seen["packet"] == {}
    feed = referrals.call("GET", "/partner/events", as_=PARTNER).json["items"]
    cancelled = [e for e in feed if e["type"].endswith("referral.cancelled.v1")]
    assert cancelled[0]["data"]["reason_code"] == "consent_revoked"


def test_discharge_cancels_open_referrals(referrals: ReferralsApi) -> None:
    client_id = referrals.client()
    referral_id = referrals.referral(client_id)
    referrals.deliver(
        "intake.client.discharged.v1",
        {
            "client_id": client_id,
            "client_reference": "C-1042",
            "episode_id": "e",
            "discharged_at": datetime.now(UTC),
            "reason_code": "moved_away",
        },
    )
    cancelled = referrals.call("GET", f"/referrals/{referral_id}", as_=("admin-1", "admin"))
    assert cancelled.json["status"] == "cancelled"


def test_a_silent_partner_makes_the_referral_overdue_once(referrals: ReferralsApi) -> None:
    referrals.referral(referrals.client())
    with referrals.runtime.unit_of_work() as uow:
        assert operations.announce_overdue(uow, utc_now() + timedelta(days=2)) == 0
    for _ in range(2):
        with referrals.runtime.unit_of_work() as uow:
            operations.announce_overdue(uow, utc_now() + timedelta(days=3, minutes=1))
    assert len(referrals.events("referral.overdue.v1")) == 1


def test_a_plan_strategy_becomes_a_draft_referral_once(referrals: ReferralsApi) -> None:
    client_id = referrals.client()
    data = {
        "plan_id": "p-1",
        "client_id": client_id,
        "episode_id": "e-1",
        "client_reference": "C-1042",
        "goal_id": "g-1",
        "strategy_id": "s-1",
        "domain": "housing",
        "partner_service_id": "tenancy",
        "requested_by": "cm-1",
        "requested_at": datetime.now(UTC),
    }
    referrals.deliver("planning.strategy.referral_requested.v1", data)
    referrals.deliver("planning.strategy.referral_requested.v1", data)
    [draft] = referrals.call("GET", "/referrals").json["items"]
    assert (
        draft["status"] == "draft"
        and draft["strategy_id"] == "s-1"
        and draft["organization_id"] == HOUSING
    )


def test_directory_search_by_domain_language_capacity_and_distance(referrals: ReferralsApi) -> None:
    admin = ("admin-1", "admin")
    referrals.call(
        "PUT",
        "/services/far",
        as_=admin,
        json_body={
            "organization_id": HOUSING,
            "name": "far",
            "domains": ["housing"],
            "languages": ["es"],
            "latitude": 53.48,
            "longitude": -2.24,
        },
    )
    near = referrals.call(
        "GET", "/services", query={"domain": "housing", "latitude": 51.5, "longitude": -0.12}
    ).json
    assert [s["id"] for s in near["items"]] == ["tenancy", "far"] and near["items"][1][
        "distance_km"
    ] > 200
    within = referrals.call(
        "GET",
        "/services",
        query={"domain": "housing", "latitude": 51.5, "longitude": -0.12, "within_km": 50},
    ).json
    assert [s["id"] for s in within["items"]] == ["tenancy"]
    assert [
        s["id"] for s in referrals.call("GET", "/services", query={"language": "es"}).json["items"]
    ] == ["far"]
    paged = referrals.call("GET", "/services", query={"limit": 1}).json
    assert len(paged["items"]) == 1 and paged["next_cursor"]
    assert date.today()  # the directory has no dates of its own


def test_openapi_has_a_partner_facing_tag(referrals: ReferralsApi) -> None:
    spec = referrals.http.get("/openapi.json").json
    partner_paths = [path for path in spec["paths"] if path.startswith("/partner")]
    assert partner_paths and all(
        op["tags"] == ["partner"]
        for path in partner_paths
        for method, op in spec["paths"][path].items()
        if method in ("get", "post")
    )
    assert any(tag["name"] == "partner" for tag in spec["tags"])
