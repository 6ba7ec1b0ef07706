"""Two partner organisations on every partner-facing operation, with a bearer token (``org``
claim) and with an API key: neither sees nor changes the other's referrals, events, webhooks or
services, and a partner credential opens no client record anywhere on the platform."""

from __future__ import annotations

from typing import Any

import pytest

from shared.config import SERVICE_NAMES
from tests.referrals.conftest import HOUSING, THERAPY
from tests.security.conftest import (
    ADMIN,
    CM,
    INSIDERS,
    PARTNER,
    Caller,
    Operation,
    SecuredService,
    start_secured,
)

CREDENTIALS = ("bearer token", "API key")


def _partner(world: SecuredService, org: str, credential: str) -> Caller:
    key = world.partner_keys[org] if credential == "API key" else None
    return Caller(f"{org}-staff", PARTNER, org=org, api_key=key)


def _op(world: SecuredService, key: str) -> Operation:
    [operation] = [op for op in world.operations() if op.key == key]
    return operation


def _everything_a_partner_can_list(world: SecuredService, caller: Caller) -> str:
    """The text of every partner list and feed page the caller can reach."""
    text = []
    for key in (
        "GET /partner/referrals",
        "GET /partner/webhooks",
        "GET /services",
        "GET /fhir/Task",
    ):
        response = world.as_(caller, _op(world, key))
        assert response.status_code == 200, (key, response.json)
        text.append(response.get_data(as_text=True))
    cursor = None
    while True:
        page = world.api.http.get(
            "/partner/events",
            query_string={"after": cursor} if cursor else {},
            headers=caller.headers(world.settings),
        )
        assert page.status_code == 200, page.json
        text.append(page.get_data(as_text=True))
        if not page.json["items"]:
            return "\n".join(text)
        cursor = page.json["next_cursor"]


@pytest.fixture
def two_partners(referrals_world: SecuredService) -> SecuredService:
    """Housing First has the seeded referral and webhook; Talk Well gets its own of each."""
    api = referrals_world.api
    client = api.client(consent_to=THERAPY)
    referrals_world.ids["other_referral_id"] = api.referral(client, service="cbt")
    other = _partner(referrals_world, THERAPY, "bearer token")
    subscribed = referrals_world.as_(
        other,
        _op(referrals_world, "POST /partner/webhooks"),
        body={"url": "https://talk-well.example/hook", "secret": "talk-well-secret-0123456789"},
    )
    assert subscribed.status_code == 201
    referrals_world.ids["other_subscription_id"] = subscribed.json["id"]
    referred = api.call(
        "POST",
        "/partner/inbound-referrals",
        as_=("h-1", PARTNER, HOUSING),
        json_body={"given_name": "Sam", "family_name": "Okafor", "reason": "Asked for support"},
    )
    assert referred.status_code == 202, referred.json
    referrals_world.ids["inbound_id"] = referred.json["id"]
    return referrals_world


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_a_partner_lists_only_its_own_referrals_events_and_webhooks(
    two_partners: SecuredService, credential: str
) -> None:
    ids = two_partners.ids
    for org, own, theirs in (
        (THERAPY, ids["other_referral_id"], ids["referral_id"]),
        (HOUSING, ids["referral_id"], ids["other_referral_id"]),
    ):
        seen = _everything_a_partner_can_list(two_partners, _partner(two_partners, org, credential))
        assert own in seen, "the positive control: a partner does see its own referral"
        assert theirs not in seen
    housing_view = _everything_a_partner_can_list(
        two_partners, _partner(two_partners, HOUSING, credential)
    )
    assert ids["subscription_id"] in housing_view
    assert ids["other_subscription_id"] not in housing_view


# partner operation -> the body a curious partner sends at the other organisation's record
AIMED_AT_THE_OTHER_ORG: dict[str, Any] = {
    "GET /partner/referrals/{referral_id}": None,
    "POST /partner/referrals/{referral_id}/status": {"status": "rejected", "reason_code": "other"},
    "GET /partner/webhooks/{subscription_id}/deliveries": None,
    "POST /partner/webhooks/{subscription_id}/reactivate": None,
    "PATCH /partner/webhooks/{subscription_id}": {"url": "https://talk-well.example/stolen"},
    "DELETE /partner/webhooks/{subscription_id}": None,
    "POST /partner/webhooks/{subscription_id}/rotate-secret": {
        "secret": "stolen-secret-0123456789"
    },
    "GET /partner/inbound-referrals/{inbound_id}": None,
    "GET /fhir/Task/{referral_id}": None,
    "GET /fhir/ServiceRequest/{referral_id}": None,
    "PATCH /fhir/Task/{referral_id}": [{"op": "replace", "path": "/status", "value": "rejected"}],
    "PUT /fhir/Task/{referral_id}": {
        "resourceType": "Task",
        "status": "accepted",
        "intent": "order",
    },
}


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_a_partner_cannot_read_or_change_another_organisations_records(
    two_partners: SecuredService, credential: str
) -> None:
    intruder = _partner(two_partners, THERAPY, credential)
    partner_operations = [
        op
        for op in two_partners.operations()
        if PARTNER in op.required_roles and op.parameters and op.key != "PUT /services/{service_id}"
    ]
    assert {op.key for op in partner_operations} == set(AIMED_AT_THE_OTHER_ORG), (
        "a new partner operation on a record needs a row here"
    )
    for operation in partner_operations:
        response = two_partners.as_(intruder, operation, body=AIMED_AT_THE_OTHER_ORG[operation.key])
        assert response.status_code in (403, 404), (operation.key, response.status_code)
        assert response.mimetype in ("application/problem+json", "application/fhir+json")
    subscriptions = two_partners.api.call(
        "GET", "/partner/webhooks", as_=("h-1", PARTNER, HOUSING)
    ).json["items"]
    assert [s["url"] for s in subscriptions if s["id"] == two_partners.ids["subscription_id"]] == [
        "https://partner.example/hook"
    ], "the other organisation's subscription is untouched"
    referral = two_partners.api.call(
        "GET", f"/referrals/{two_partners.ids['referral_id']}", as_=("cm-1", CM)
    ).json
    assert referral["status"] == "requested" and len(referral["transitions"]) == 1


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_a_partner_cannot_take_over_another_organisations_service(
    two_partners: SecuredService, credential: str
) -> None:
    intruder = _partner(two_partners, THERAPY, credential)
    save = _op(two_partners, "PUT /services/{service_id}")
    before = two_partners.api.call("GET", "/services", as_=("admin-1", ADMIN)).json["items"]
    for claimed_owner in (HOUSING, THERAPY):  # as the owner, or moving it into its own org
        body = {**save.example, "organization_id": claimed_owner, "capacity_status": "full"}
        response = two_partners.as_(intruder, save, body=body)
        assert response.status_code == 403, (claimed_owner, response.status_code, response.json)
    after = two_partners.api.call("GET", "/services", as_=("admin-1", ADMIN)).json["items"]
    assert after == before
    own = {**save.example, "organization_id": THERAPY, "capacity_status": "waitlist"}
    assert (
        two_partners.api.http.put(
            "/services/cbt", json=own, headers=intruder.headers(two_partners.settings)
        ).status_code
        == 200
    ), "the positive control: a partner keeps its own service up to date"


@pytest.mark.parametrize(
    "partner",
    [
        Caller("no-org-staff", PARTNER),
        Caller("ghost-staff", PARTNER, org="not-in-the-directory"),
    ],
    ids=["token without org", "org not in the directory"],
)
def test_a_partner_token_without_a_known_organisation_gets_nothing(
    two_partners: SecuredService, partner: Caller
) -> None:
    for operation in two_partners.operations():
        if PARTNER not in operation.required_roles:
            continue
        response = two_partners.as_(partner, operation)
        status = response.status_code
        assert status < 500, (operation.key, status, response.json)
        if status == 200 and operation.method == "GET":
            text = response.get_data(as_text=True)
            for record in ("referral_id", "other_referral_id", "subscription_id"):
                assert two_partners.ids[record] not in text, (operation.key, record)
        elif operation.method != "GET":
            assert status in (403, 404), (operation.key, status, response.json)


@pytest.mark.parametrize("service", [name for name in SERVICE_NAMES if name != "referrals"])
def test_partner_credentials_open_nothing_in_the_other_services(
    two_partners: SecuredService, service: str, tmp_path: Any
) -> None:
    other = start_secured(service, tmp_path)
    try:
        key = Caller("k", PARTNER, api_key=two_partners.partner_keys[HOUSING])
        for operation in other.operations():
            assert other.as_(INSIDERS[PARTNER], operation).status_code == 403, operation.key
            assert other.as_(key, operation).status_code == 401, operation.key
    finally:
        other.api.runtime.database.dispose()


def test_a_revoked_api_key_is_refused_as_an_invalid_credential(
    two_partners: SecuredService,
) -> None:
    key = two_partners.api.call(
        "POST", f"/organizations/{HOUSING}/api-keys", as_=("admin-1", ADMIN)
    ).json
    caller = Caller("machine", PARTNER, api_key=key["key"])
    feed = _op(two_partners, "GET /partner/referrals")
    assert two_partners.as_(caller, feed).status_code == 200
    revoked = two_partners.api.call("POST", f"/api-keys/{key['id']}/revoke", as_=("admin-1", ADMIN))
    assert revoked.status_code == 200
    refused = two_partners.as_(caller, feed)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    assert key["key"] not in refused.get_data(as_text=True)
