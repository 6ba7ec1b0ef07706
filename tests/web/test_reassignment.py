"""The supervisor's reassignment from the team dashboard: over a case manager's cap only with a
reason, the API's words shown when it refuses, and the client moves between the two caseloads."""

from __future__ import annotations

from tests.web.conftest import CASE_MANAGER, SUPERVISOR, WebPlatform

OTHER_MANAGER = "cm-ben"


def _register(web_platform: WebPlatform, given: str, family: str) -> str:
    created = web_platform.api("intake").post(
        "/clients",
        headers=web_platform.as_("iw-demo", "intake_worker"),
        json={"given_name": given, "family_name": family, "date_of_birth": "1985-06-01"},
    )
    assert created.status_code == 201, created.json
    return str(created.json["id"])


def _assign(web_platform: WebPlatform, client_id: str, case_manager_id: str) -> None:
    assigned = web_platform.api("intake").post(
        f"/clients/{client_id}/assignment",
        headers=web_platform.as_("iw-demo", "intake_worker"),
        json={"case_manager_id": case_manager_id},
    )
    assert assigned.status_code == 201, assigned.json


def test_supervisor_reassigns_over_the_cap_only_with_a_reason(web_platform: WebPlatform) -> None:
    web_platform.seed_team_and_directory()
    saved = web_platform.api("intake").put(
        f"/case-managers/{OTHER_MANAGER}",
        headers=web_platform.as_("admin-1", "admin"),
        json={
            "display_name": "Ben Adeyemi",
            "team": "north",
            "supervisor_id": SUPERVISOR,
            "caseload_cap": 1,
        },
    )
    assert saved.status_code == 200, saved.json
    already_with_ben = _register(web_platform, "Jo", "Baker")
    _assign(web_platform, already_with_ben, OTHER_MANAGER)
    moving = _register(web_platform, "Sam", "Okafor")
    _assign(web_platform, moving, CASE_MANAGER)

    supervisor = web_platform.person(SUPERVISOR)
    team = supervisor.text("/team")
    assert "Ben Adeyemi" in team and "Ana Ortiz" in team

    refused = supervisor.post(
        f"/clients/{moving}/assignment",
        {"case_manager_id": OTHER_MANAGER, "back": "/team"},
        follow_redirects=True,
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 200
    assert "caseload cap of 1" in page and "reason" in page, page[page.find("<main") :][:1200]
    assert "Sam Okafor" in web_platform.person(CASE_MANAGER).text("/caseload")

    moved = supervisor.post(
        f"/clients/{moving}/assignment",
        {
            "case_manager_id": OTHER_MANAGER,
            "override_reason": "Ben knows the family from an earlier episode",
            "back": "/team",
        },
        follow_redirects=True,
    )
    assert moved.status_code == 200
    assert f"Assigned to {OTHER_MANAGER} (over the cap: reason recorded)." in moved.get_data(
        as_text=True
    )
    assert "Sam Okafor" not in web_platform.person(CASE_MANAGER).text("/caseload")
    assert "Sam Okafor" in web_platform.person(OTHER_MANAGER).text("/caseload")
    assert "over cap" in supervisor.text("/team")


def test_a_case_manager_cannot_reassign(web_platform: WebPlatform) -> None:
    web_platform.seed_team_and_directory()
    client_id = _register(web_platform, "Lee", "Park")
    _assign(web_platform, client_id, CASE_MANAGER)
    manager = web_platform.person(CASE_MANAGER)
    manager.text("/caseload")
    refused = manager.post(f"/clients/{client_id}/assignment", {"case_manager_id": "cm-ben"})
    assert refused.status_code == 403
