"""The referral loop across three services: a plan's referral strategy becomes a referral the
partner completes, and the plan shows it — through the broker, with consent from intake."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from shared.web import mint_token
from tests.support.backends import Backend
from tests.support.journey import admit_client
from tests.support.platform import wait_until
from tests.support.services import RunningServices


@pytest.fixture
def services(backend: Backend, data_dir: Path) -> Iterator[RunningServices]:
    running = RunningServices(backend, data_dir, ["intake", "planning", "referrals"])
    yield running
    running.shutdown()


def test_a_referral_strategy_is_sent_completed_and_shown_on_the_plan(
    services: RunningServices,
) -> None:
    intake, planning, referrals = (
        services[name].create_app().test_client() for name in ("intake", "planning", "referrals")
    )
    settings = services["intake"].settings

    def as_(sub: str, *roles: str, org: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(settings, sub, roles, org=org)}"}

    admin, cm = as_("admin-1", "admin"), as_("cm-1", "case_manager")
    referrals.put("/organizations/housing-first", headers=admin, json={"name": "Housing First"})
    referrals.put(
        "/services/tenancy",
        headers=admin,
        json={
            "organization_id": "housing-first",
            "name": "Tenancy support",
            "domains": ["housing"],
        },
    )
    client = admit_client(intake, settings)
    intake.post(
        f"/clients/{client['id']}/consents",
        headers=cm,
        json={
            "organization_id": "housing-first",
            "categories": ["contact_details"],
            "starts_on": date.today().isoformat(),
        },
    )
    intake.post(
        f"/clients/{client['id']}/assessments",
        headers=cm,
        json={"domains": {"housing": {"rating": "unmet_need"}}},
    )
    services.start_workers()

    def plan() -> Any:
        plans = planning.get("/plans", headers=cm, query_string={"client_id": client["id"]}).json[
            "items"
        ]
        return plans[0] if plans else None

    assert wait_until(lambda: plan() is not None, timeout=30)
    plan_id = plan()["id"]
    goal_id = plan()["working_version"]["content"]["goals"][0]["id"]
    planning.patch(
        f"/plans/{plan_id}/goals/{goal_id}",
        headers=cm,
        json={
            "in_own_words": "A place of my own",
            "measurable_target": "Tenancy signed",
            "target_date": "2027-06-30",
        },
    )
    planning.post(
        f"/plans/{plan_id}/goals/{goal_id}/strategies",
        headers=cm,
        json={
            "description": "Tenancy support",
            "type": "referral",
            "responsible": "partner_service",
            "partner_service_id": "tenancy",
        },
    )
    assert (
        planning.post(
            f"/plans/{plan_id}/approve",
            headers=cm,
            json={"client_agreed": True, "method": "verbal", "present": ["client", "cm-1"]},
        ).status_code
        == 200
    )

    assert wait_until(
        lambda: bool(referrals.get("/referrals", headers=cm).json["items"]), timeout=30
    )
    [draft] = referrals.get("/referrals", headers=cm).json["items"]
    assert draft["status"] == "draft" and draft["plan_id"] == plan_id
    assert referrals.post(f"/referrals/{draft['id']}/send", headers=cm).status_code == 200
    partner = as_("hf-1", "partner", org="housing-first")
    for move in ({"status": "accepted"}, {"status": "completed", "outcome": "Tenancy signed"}):
        assert (
            referrals.post(
                f"/partner/referrals/{draft['id']}/status", headers=partner, json=move
            ).status_code
            == 200
        )

    def loop_closed() -> bool:
        return set(plan()["strategy_referrals"].values()) == {"completed"}

    assert wait_until(loop_closed, timeout=30)
