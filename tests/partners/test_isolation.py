"""Isolation on every partner and FHIR path: another organisation's referral, subscription or
Task answers 404 (or finds nothing), and no credential answers 401. The paths come from the
OpenAPI document, so a new partner operation is checked as soon as it exists."""

from __future__ import annotations

import re

from tests.partners.conftest import Partner
from tests.referrals.conftest import ReferralsApi

#: What each path placeholder stands for: the housing charity's own thing, which the other
#: partner must not reach.
BODIES = {
    "/partner/referrals/{referral_id}/status": {"status": "accepted"},
    "/partner/webhooks/{subscription_id}": {"active": False},
    "/partner/webhooks/{subscription_id}/rotate-secret": {},
    "/fhir/Task/{referral_id}": None,
}


def _operations(referrals: ReferralsApi) -> list[tuple[str, str]]:
    spec = referrals.http.get("/openapi.json").json
    return [
        (method.upper(), path)
        for path, item in spec["paths"].items()
        if path.startswith(("/partner", "/fhir"))
        for method in item
        if method in ("get", "post", "patch", "put", "delete")
    ]


def test_every_partner_and_fhir_path_keeps_partners_apart(
    referrals: ReferralsApi, housing: Partner, therapy: Partner
) -> None:
    referral_id = referrals.referral(referrals.client())
    subscription = housing.request(
        "POST", "/partner/webhooks", {"url": "https://partner.example/casehub"}
    ).json
    inbound = housing.request(
        "POST",
        "/partner/inbound-referrals",
        {"given_name": "Sam", "family_name": "Rivera", "reason": "Asked for support"},
    ).json
    ids = {
        "referral_id": referral_id,
        "subscription_id": subscription["id"],
        "inbound_id": inbound["id"],
    }
    checked = 0
    for method, path in _operations(referrals):
        concrete = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)
        if path == "/fhir/metadata":
            assert referrals.http.get(concrete).status_code == 200  # public, names no one
            continue
        anonymous = referrals.http.open(concrete, method=method)
        assert anonymous.status_code == 401, (method, path)
        if "{" in path:
            body = BODIES.get(path, {})
            headers = {}
            if path == "/fhir/Task/{referral_id}" and method in ("PATCH", "PUT"):
                body = (
                    [{"op": "replace", "path": "/status", "value": "accepted"}]
                    if method == "PATCH"
                    else {"resourceType": "Task", "status": "accepted", "intent": "order"}
                )
                headers = {
                    "Content-Type": "application/json-patch+json"
                    if method == "PATCH"
                    else "application/fhir+json"
                }
            other = therapy.request(method, concrete, body if method != "GET" else None, **headers)
            assert other.status_code == 404, (method, path, other.get_data(as_text=True))
            checked += 1
    assert checked >= 8
    # lists and searches: the other partner finds nothing of the housing charity's
    assert therapy.request("GET", "/partner/referrals").json["items"] == []
    assert therapy.request("GET", "/partner/events").json["items"] == []
    assert therapy.request("GET", "/partner/webhooks").json["items"] == []
    assert therapy.request("GET", "/partner/inbound-referrals").json["items"] == []
    bundle = therapy.request("GET", f"/fhir/Task?owner=Organization/{housing.organization}").json
    assert bundle.get("entry", []) == []
    assert therapy.request("GET", "/fhir/Task").json.get("entry", []) == []
    # and the housing charity still sees its own
    assert housing.request("GET", f"/fhir/Task/{referral_id}").status_code == 200
    assert housing.request("GET", f"/partner/referrals/{referral_id}").status_code == 200
    assert housing.request("GET", f"/partner/inbound-referrals/{inbound['id']}").status_code == 200
