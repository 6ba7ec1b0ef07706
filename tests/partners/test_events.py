"""Events as the guide describes them: webhooks parsed by the CloudEvents SDK and verified with
the standardwebhooks package, the pull feed from its first request, duplicates dropped by id."""

from __future__ import annotations

import json

from cloudevents.core.bindings.http import HTTPMessage, from_http_event
from cloudevents.core.formats.json import JSONFormat
from standardwebhooks.webhooks import Webhook

from tests.partners.conftest import LOOPBACK, Partner, run_agency_worker
from tests.referrals.conftest import ReferralsApi

SENT = "casehub.referrals.referral.sent.v1"
STATUS_CHANGED = "casehub.referrals.referral.status_changed.v1"
COMPLETED = "casehub.referrals.referral.completed.v1"


@LOOPBACK
def test_a_partner_consumes_signed_cloudevents_and_drops_duplicates(
    referrals: ReferralsApi, housing: Partner, endpoint: str
) -> None:
    subscribed = housing.request("POST", "/partner/webhooks", {"url": endpoint})
    assert subscribed.status_code == 201
    secret = subscribed.json["secret"]
    referral_id = referrals.referral(referrals.client())
    for move in (
        {"status": "accepted"},
        {"status": "completed", "outcome": "Tenancy signed"},
    ):
        moved = housing.request("POST", f"/partner/referrals/{referral_id}/status", move)
        assert moved.status_code == 200, moved.json
    run_agency_worker(referrals)
    seen: dict[str, object] = {}
    for headers, body in housing.received + housing.received[:1]:  # one arrives twice
        Webhook(secret).verify(body, headers)  # raises unless signed with our secret, recently
        event = from_http_event(HTTPMessage(headers=headers, body=body))
        assert event.get_id() == {k.lower(): v for k, v in headers.items()}["webhook-id"]
        seen.setdefault(event.get_id(), event)
    events = list(seen.values())
    assert len(events) == 5  # sent + status_changed, status_changed, status_changed + completed
    types = [e.get_type() for e in events]  # type: ignore[attr-defined]
    assert types.count(STATUS_CHANGED) == 3 and SENT in types and COMPLETED in types
    [completed] = [e for e in events if e.get_type() == COMPLETED]  # type: ignore[attr-defined]
    assert completed.get_data()["outcome"] == "Tenancy signed"  # type: ignore[attr-defined]
    assert all(e.get_data()["referral_id"] == referral_id for e in events)  # type: ignore[attr-defined]


def test_the_pull_feed_from_the_first_request_parses_with_the_sdk(
    referrals: ReferralsApi, housing: Partner
) -> None:
    referral_id = referrals.referral(referrals.client())
    first = housing.request("GET", "/partner/events?limit=1")
    assert first.status_code == 200 and first.json["next_cursor"] == "1"
    rest = housing.request("GET", f"/partner/events?cursor={first.json['next_cursor']}")
    items = first.json["items"] + rest.json["items"]
    events = [JSONFormat().read(None, json.dumps(item).encode()) for item in items]
    assert {e.get_type() for e in events} == {SENT, STATUS_CHANGED}
    assert all(e.get_data()["referral_id"] == referral_id for e in events)
    assert all("client_id" not in e.get_data() for e in events)
    cursor = rest.json["next_cursor"]
    assert housing.request("GET", f"/partner/events?cursor={cursor}").json["items"] == []
    past = housing.request("GET", f"/partner/events?cursor={int(cursor) + 1}")
    assert past.status_code == 422


@LOOPBACK
def test_rotation_keeps_every_webhook_verifiable_with_either_secret(
    referrals: ReferralsApi, housing: Partner, endpoint: str
) -> None:
    made = housing.request(
        "POST", "/partner/webhooks", {"url": endpoint, "event_types": [SENT]}
    ).json
    rotated = housing.request(
        "POST", f"/partner/webhooks/{made['id']}/rotate-secret", {"overlap_seconds": 600}
    ).json
    referrals.referral(referrals.client())
    run_agency_worker(referrals)
    [(headers, body)] = housing.received
    for secret in (made["secret"], rotated["secret"]):
        assert Webhook(secret).verify(body, headers)["type"] == SENT
