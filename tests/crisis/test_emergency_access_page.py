"""The page the escalated crisis alert links to: on call breaks the glass with a reason and sees
the crisis picture from intake and planning (the web app against the real services and workers)."""

from __future__ import annotations

from tests.crisis.conftest import HIGH_RISK, PURPOSE
from tests.support.platform import wait_until
from tests.web.conftest import CASE_MANAGER, WebPlatform, web_platform
from tests.web.test_screens import SAFETY_PLAN

__all__ = ["web_platform"]


def test_on_call_opens_the_crisis_picture_from_the_alerts_link_with_a_reason(
    web_platform: WebPlatform,
) -> None:
    web_platform.seed_team_and_directory()
    intake, planning = web_platform.api("intake"), web_platform.api("planning")
    worker = web_platform.as_("iw-1", "intake_worker")
    client = intake.post(
        "/clients",
        headers=worker,
        json={
            "given_name": "Robin",
            "family_name": "Ashdown",
            "date_of_birth": "1990-02-03",
            "nominated_persons": [
                {"name": "Kit Ashdown", "relationship_to_client": "family", "phone": "555-0199"}
            ],
        },
    ).json
    intake.post(
        f"/clients/{client['id']}/assignment",
        headers=worker,
        json={"case_manager_id": CASE_MANAGER},
    )
    manager = web_platform.as_(CASE_MANAGER, "case_manager")
    assert (
        intake.post(
            f"/clients/{client['id']}/assessments", headers=manager, json=HIGH_RISK
        ).status_code
        == 201
    )

    def plan_id() -> str | None:
        items = planning.get(
            "/plans", headers=manager, query_string={"client_id": client["id"]}
        ).json["items"]
        return items[0]["id"] if items and items[0]["safety_plan_required"] else None

    assert wait_until(lambda: plan_id() is not None, timeout=30)
    saved = planning.put(
        f"/plans/{plan_id()}/safety-plan",
        headers=manager,
        json={section: [text] for section, text in SAFETY_PLAN.items()},
    )
    assert saved.status_code == 200, saved.json

    on_call = web_platform.person("on-call-demo")
    page = f"/clients/{client['id']}/emergency-access"
    form = on_call.text(page)
    assert "Break the glass" in form and "Ashdown" not in form
    assert "Ashdown" not in on_call.post(page, {"reason": "  "}).get_data(as_text=True)
    opened = on_call.post(page, {"reason": PURPOSE["X-Purpose"]})
    shown = opened.get_data(as_text=True)
    assert opened.status_code == 200, shown
    assert "Robin Ashdown" in shown and "555-0199" in shown and "High" in shown
    assert "Walk by the river" in shown and "Crisis line 988" in shown
    # a case manager outside the crisis path has no such page
    assert web_platform.person(CASE_MANAGER).get(page).status_code == 403
