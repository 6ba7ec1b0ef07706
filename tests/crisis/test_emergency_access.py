"""Break the glass: on-call and supervisors outside the team reach one client's crisis picture
in intake and planning only with a stated reason, for a limited time, audited and announced."""

from __future__ import annotations

from datetime import timedelta

from services.notifications.channels import render
from shared.clock import Clock
from tests.crisis.conftest import PURPOSE, high_risk_client, relay
from tests.intake.conftest import IntakeApi
from tests.notifications.conftest import NotificationsApi
from tests.planning.conftest import COMPLETE_SAFETY_PLAN, PlanningApi

ON_CALL = ("dr-night", "on_call")
PICTURE = "/clients/{}/emergency-access/crisis-picture"


def _client_with_safety_plan(intake: IntakeApi, planning: PlanningApi) -> dict:
    client = high_risk_client(intake)
    for kind in ("case.assigned.v1", "assessment.completed.v1", "risk.flagged.v1"):
        relay(intake, planning, kind)
    [plan] = planning.call(
        "GET", "/plans", as_=("admin-1", "admin"), query={"client_id": client["id"]}
    ).json["items"]
    saved = planning.call(
        "PUT",
        f"/plans/{plan['id']}/safety-plan",
        as_=("cm-1", "case_manager"),
        json_body=COMPLETE_SAFETY_PLAN,
    )
    assert saved.status_code == 200, saved.json
    return client


def test_on_call_is_refused_without_a_reason_and_granted_with_one(
    intake: IntakeApi, planning: PlanningApi
) -> None:
    client = _client_with_safety_plan(intake, planning)
    grant_path = f"/clients/{client['id']}/emergency-access"
    refused = intake.call("POST", grant_path, as_=ON_CALL)
    assert refused.status_code == 400 and refused.json["reason"] == "purpose_required"
    assert "X-Purpose" in refused.json["errors"]["headers"]
    assert intake.call("GET", f"/clients/{client['id']}", as_=ON_CALL).status_code == 403
    assert (
        intake.call("GET", PICTURE.format(client["id"]), as_=ON_CALL, headers=PURPOSE).status_code
        == 404
    )

    granted = intake.call("POST", grant_path, as_=ON_CALL, headers=PURPOSE)
    assert granted.status_code == 201, granted.json
    grant = granted.json
    assert grant["client_reference"] == client["reference"] and grant["granted_to"] == "dr-night"
    hours = (intake.runtime.clock.now() - timedelta(hours=12)).isoformat()
    assert grant["expires_at"] > hours

    without_reason = intake.call("GET", PICTURE.format(client["id"]), as_=ON_CALL)
    assert without_reason.status_code == 400
    picture = intake.call("GET", PICTURE.format(client["id"]), as_=ON_CALL, headers=PURPOSE)
    assert picture.status_code == 200, picture.json
    assert picture.json["open_risk_flags"][0]["level"] == "high"
    assert picture.json["open_risk_flags"][0]["reasons"]
    assert picture.json["nominated_persons"][0]["phone"] == "555-0101"
    assert picture.json["case_manager"]["id"] == "cm-1"

    # planning learns of the grant from intake's announcement, then shows the safety plan
    assert (
        planning.call("GET", PICTURE.format(client["id"]), as_=ON_CALL, headers=PURPOSE).status_code
        == 404
    )
    [announced] = relay(intake, planning, "access.emergency_granted.v1")
    assert announced["data"]["supervisor_id"] == "sup-1"
    assert "Crisis call" not in str(announced)  # the reason stays in the audit trail
    safety = planning.call("GET", PICTURE.format(client["id"]), as_=ON_CALL, headers=PURPOSE)
    assert safety.status_code == 200, safety.json
    assert safety.json["safety_plan"]["warning_signs"] == ["Not sleeping"]
    assert safety.json["crisis_contacts"] == ["Sister", "Crisis line"]
    # someone else on call holds no grant of their own
    other = planning.call(
        "GET", PICTURE.format(client["id"]), as_=("dr-day", "on_call"), headers=PURPOSE
    )
    assert other.status_code == 404


def test_emergency_access_is_audited_as_such_and_expires(
    intake: IntakeApi, planning: PlanningApi
) -> None:
    client = _client_with_safety_plan(intake, planning)
    intake.call("POST", f"/clients/{client['id']}/emergency-access", as_=ON_CALL, headers=PURPOSE)
    relay(intake, planning, "access.emergency_granted.v1")
    for service in (intake, planning):
        assert (
            service.call(
                "GET", PICTURE.format(client["id"]), as_=ON_CALL, headers=PURPOSE
            ).status_code
            == 200
        )
        trail = service.call(
            "GET", "/audit", query={"client_id": client["id"]}, as_=("admin-1", "admin")
        )
        emergency = [row for row in trail.json["items"] if row["detail"].get("emergency")]
        assert {row["action"] for row in emergency} >= {"emergency_read"}
        assert all(row["purpose"] == PURPOSE["X-Purpose"] for row in emergency)
        assert all(row["actor"] == "dr-night" for row in emergency)
    later = intake.runtime.clock.now() + timedelta(hours=12, minutes=1)
    for service in (intake, planning):
        service.runtime.clock = Clock(fixed=later)
        expired = service.call("GET", PICTURE.format(client["id"]), as_=ON_CALL, headers=PURPOSE)
        assert expired.status_code == 404


def test_a_supervisor_may_break_the_glass_outside_their_team_and_a_case_manager_may_not(
    intake: IntakeApi,
) -> None:
    client = high_risk_client(intake)
    other_supervisor = ("sup-2", "supervisor")
    assert intake.call("GET", f"/clients/{client['id']}", as_=other_supervisor).status_code == 404
    granted = intake.call(
        "POST", f"/clients/{client['id']}/emergency-access", as_=other_supervisor, headers=PURPOSE
    )
    assert granted.status_code == 201
    picture = intake.call(
        "GET", PICTURE.format(client["id"]), as_=other_supervisor, headers=PURPOSE
    )
    assert picture.status_code == 200
    refused = intake.call(
        "POST",
        f"/clients/{client['id']}/emergency-access",
        as_=("cm-9", "case_manager"),
        headers=PURPOSE,
    )
    assert refused.status_code == 403
    unknown = intake.call("POST", "/clients/nobody/emergency-access", as_=ON_CALL, headers=PURPOSE)
    assert unknown.status_code == 404


def test_the_clients_supervisor_is_told_and_every_crisis_alert_links_to_emergency_access(
    intake: IntakeApi, notifications: NotificationsApi
) -> None:
    client = high_risk_client(intake)
    intake.call("POST", f"/clients/{client['id']}/emergency-access", as_=ON_CALL, headers=PURPOSE)
    [announced] = intake.events("access.emergency_granted.v1")
    notifications.person("sup-1")
    notifications.deliver("intake.access.emergency_granted.v1", announced["data"], announced["id"])
    notifications.deliver("intake.access.emergency_granted.v1", announced["data"], announced["id"])
    inbox = notifications.call("GET", "/me/notifications", as_=("sup-1", "supervisor")).json[
        "items"
    ]
    told = [item for item in inbox if "Emergency access" in item["subject"]]
    assert len(told) == 1 and client["reference"] in told[0]["subject"]
    assert told[0]["urgency"] == "low"
    _subject, body = render(
        "crisis_alert",
        client_reference=client["reference"],
        app_url="https://casehub.example",
        notification_id="n-1",
        client_id=client["id"],
        escalation_level=2,
    )
    assert f"https://casehub.example/clients/{client['id']}/emergency-access" in body
    _subject, first = render(
        "crisis_alert",
        client_reference="C-1",
        app_url="https://x",
        notification_id="n",
        client_id=client["id"],
        escalation_level=0,
    )
    # the first alert links to it too: on-call is a first recipient when nobody carries the client
    assert f"https://x/clients/{client['id']}/emergency-access" in first
    assert "Nobody has acknowledged it yet" not in first
