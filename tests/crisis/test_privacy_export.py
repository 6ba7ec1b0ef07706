"""The client's right of access: each service's own export endpoint, gathered into one bundle
(JSON per service and a readable PDF) that holds every service's part and nothing of others."""

from __future__ import annotations

import json

import httpx

from services import governance
from tests.crisis.conftest import high_risk_client, relay
from tests.intake.conftest import IntakeApi
from tests.notifications.conftest import NotificationsApi, notifications
from tests.planning.conftest import PlanningApi
from tests.referrals.conftest import HOUSING, ReferralsApi, referrals
from tests.support.service_api import ServiceApi

__all__ = ["notifications", "referrals"]
ADMIN = ("admin-1", "admin")


def _clients(services: dict[str, ServiceApi]) -> dict[str, httpx.Client]:
    return {
        name: httpx.Client(
            base_url="http://test",
            transport=httpx.WSGITransport(app=api.http.application),
            headers={"Authorization": f"Bearer {api.token(*ADMIN)}"},
        )
        for name, api in services.items()
    }


def _to_referrals(intake: IntakeApi, referrals: ReferralsApi, kind: str) -> None:
    for envelope in intake.events(kind):
        referrals.deliver(envelope["type"].removeprefix("casehub."), envelope["data"])


def test_the_bundle_holds_every_services_part_and_nothing_of_other_clients(
    intake: IntakeApi,
    planning: PlanningApi,
    referrals: ReferralsApi,
    notifications: NotificationsApi,
) -> None:
    client = high_risk_client(intake)
    other = intake.register("Ottoline", "Brackenbury", "1961-07-07")
    intake.assign(other["id"], "cm-1")
    granted = intake.call(
        "POST",
        f"/clients/{client['id']}/consents",
        as_=("cm-1", "case_manager"),
        json_body={
            "organization_id": HOUSING,
            "categories": ["contact_details"],
            "starts_on": "2026-01-01",
        },
    )
    assert granted.status_code == 201, granted.json
    for kind in ("case.assigned.v1", "assessment.completed.v1", "risk.flagged.v1"):
        relay(intake, planning, kind)
    _to_referrals(intake, referrals, "case.assigned.v1")
    _to_referrals(intake, referrals, "consent.granted.v1")
    referral = referrals.referral(client["id"])
    for envelope in intake.events("risk.flagged.v1"):
        notifications.deliver("intake.risk.flagged.v1", envelope["data"])

    services = {
        "intake": intake,
        "planning": planning,
        "referrals": referrals,
        "notifications": notifications,
    }
    clients = _clients(services)
    refused = clients["intake"].get(
        f"/privacy/clients/{client['id']}/export",
        headers={"Authorization": f"Bearer {intake.token('cm-1', 'case_manager')}"},
    )
    assert refused.status_code == 403
    bundle = governance.privacy_bundle(clients, client["id"])
    assert set(bundle) == {"intake", "planning", "referrals", "notifications"}
    assert bundle["intake"]["tables"]["clients"][0]["reference"] == client["reference"]
    assert bundle["intake"]["tables"]["assessments"][0]["domains"]["housing"]["notes"]
    assert bundle["intake"]["tables"]["nominated_persons"][0]["name"] == "Sam Rivera"
    assert bundle["planning"]["tables"]["plans"] and bundle["planning"]["tables"]["plan_versions"]
    assert bundle["planning"]["tables"]["crisis_episodes"][0]["source"] == "risk_flag"
    assert bundle["referrals"]["tables"]["referrals"][0]["id"] == referral
    assert bundle["notifications"]["tables"]["notifications"][0]["client_id"] == client["id"]
    text = json.dumps(bundle)
    assert other["id"] not in text and "Brackenbury" not in text and "Ottoline" not in text
    pdf = governance.bundle_pdf(bundle, client["reference"])
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000
    html = governance.bundle_html(bundle, client["reference"])
    assert "Sam Rivera" in html and "Brackenbury" not in html
    # every export is in the service's audit trail
    trail = intake.call("GET", "/audit", as_=ADMIN, query={"client_id": client["id"]}).json["items"]
    assert any(row["action"] == "privacy.export" for row in trail)
