"""Assessments scored by the server, risk rules, risk flags and amendments."""

from __future__ import annotations

from typing import Any

from tests.intake.conftest import SUPERVISOR, IntakeApi

NEEDS = {
    "housing": {"rating": "unmet_need", "notes": "sofa-surfing"},
    "income": {"rating": "met_need"},
    "mental_state": {"rating": "unmet_need"},
    "leisure": {"rating": "no_need"},
}
CALM_PHQ9 = [1, 1, 0, 0, 1, 0, 0, 0, 0]


def _assess(intake: IntakeApi, client_id: str, **instruments: Any) -> Any:
    return intake.call(
        "POST", f"/clients/{client_id}/assessments", json_body={"domains": NEEDS, **instruments}
    )


def test_assessment_is_scored_by_the_server_and_event_carries_no_answers(intake: IntakeApi) -> None:
    client = intake.register()
    response = _assess(
        intake,
        client["id"],
        phq9={"items": [2, 2, 2, 1, 1, 1, 1, 0, 0]},
        gad7={"items": [3, 3, 3, 3, 3, 0, 0]},
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert body["phq9"]["total"] == 10 and body["phq9"]["severity"] == "moderate"
    assert body["gad7"]["total"] == 15 and body["gad7"]["severity"] == "severe"
    assert body["unmet_needs"] == ["mental_state", "housing"]
    assert body["risk_level"] == "none" and body["risk_flag_id"] is None
    [event] = intake.events("assessment.completed.v1")
    assert event["data"]["phq9"] == {"total": 10, "severity": "moderate"}
    assert event["data"]["unmet_needs"] == ["mental_state", "housing"]
    assert "items" not in str(event["data"]) and "sofa" not in str(event)
    assert intake.events("risk.flagged.v1") == []


def test_out_of_range_item_is_a_422_naming_the_item_and_nothing_is_written(
    intake: IntakeApi,
) -> None:
    client = intake.register()
    events_before = len(intake.events())
    response = _assess(intake, client["id"], phq9={"items": [0, 0, 4, 0, 0, 0, 0, 0, 0]})
    assert response.status_code == 422 and response.content_type == "application/problem+json"
    assert list(response.json["errors"]["json"]) == ["phq9.item_3"]
    short = _assess(intake, client["id"], gad7={"items": [0, 0]})
    assert short.status_code == 422 and list(short.json["errors"]["json"]) == ["gad7.items"]
    unknown_domain = intake.call(
        "POST",
        f"/clients/{client['id']}/assessments",
        json_body={"domains": {"astrology": {"rating": "unmet_need"}}},
    )
    assert unknown_domain.status_code == 422
    assert len(intake.events()) == events_before
    assert intake.call("GET", f"/clients/{client['id']}/assessments").json["items"] == []


def test_phq9_item_9_positive_flags_at_least_moderate_and_asks_for_a_cssrs_screen(
    intake: IntakeApi,
) -> None:
    intake.case_manager("cm-1")
    client = intake.register()
    intake.assign(client["id"], "cm-1")
    response = _assess(intake, client["id"], phq9={"items": [0, 0, 0, 0, 0, 0, 0, 0, 1]})
    body = response.json
    assert body["risk_level"] == "moderate" and body["cssrs_screen_needed"] is True
    assert body["risk_flag_id"] is not None
    [flag] = intake.events("risk.flagged.v1")
    assert flag["data"]["level"] == "moderate"
    assert flag["data"]["case_manager_id"] == "cm-1" and flag["data"]["supervisor_id"] == SUPERVISOR
    assert flag["data"]["flag_id"] == body["risk_flag_id"]


def test_cssrs_intent_is_high_risk_and_raises_a_flag(intake: IntakeApi) -> None:
    client = intake.register()
    response = _assess(
        intake,
        client["id"],
        phq9={"items": CALM_PHQ9},
        cssrs={
            "wish_to_be_dead": True,
            "suicidal_thoughts": True,
            "method": False,
            "intent": True,
            "plan_with_intent": False,
            "behaviour_ever": False,
        },
    )
    assert response.json["risk_level"] == "high" and response.json["cssrs"]["level"] == "high"
    [flag] = intake.events("risk.flagged.v1")
    assert flag["data"]["level"] == "high" and flag["data"]["case_manager_id"] is None
    assert any("Q4" in reason for reason in flag["data"]["reasons"])


def test_cssrs_low_risk_raises_no_flag(intake: IntakeApi) -> None:
    client = intake.register()
    response = _assess(
        intake, client["id"], cssrs={"wish_to_be_dead": True, "suicidal_thoughts": False}
    )
    assert response.json["risk_level"] == "low" and response.json["risk_flag_id"] is None
    assert intake.events("risk.flagged.v1") == []


def test_cssrs_question_asked_out_of_turn_is_a_422(intake: IntakeApi) -> None:
    client = intake.register()
    response = _assess(
        intake,
        client["id"],
        cssrs={"wish_to_be_dead": False, "suicidal_thoughts": False, "intent": True},
    )
    assert response.status_code == 422 and list(response.json["errors"]["json"]) == [
        "cssrs.q4_intent"
    ]


def test_an_amendment_is_a_new_version_and_the_original_never_changes(intake: IntakeApi) -> None:
    client = intake.register()
    original = _assess(intake, client["id"], phq9={"items": CALM_PHQ9}).json
    path = f"/clients/{client['id']}/assessments/{original['id']}"
    amended = intake.call(
        "POST", f"{path}/amendments", json_body={"domains": NEEDS, "phq9": {"items": [1] * 9}}
    )
    assert amended.status_code == 201
    assert amended.json["version"] == 2 and amended.json["supersedes_id"] == original["id"]
    unchanged = intake.call("GET", path).json
    assert (
        unchanged["phq9"] == original["phq9"]
        and unchanged["superseded_by_id"] == amended.json["id"]
    )
    twice = intake.call("POST", f"{path}/amendments", json_body={"domains": NEEDS})
    assert twice.status_code == 409
    versions = intake.call("GET", f"/clients/{client['id']}/assessments").json["items"]
    assert [a["version"] for a in versions] == [1, 2]
    assert (
        intake.events("assessment.completed.v1")[-1]["data"]["supersedes_assessment_id"]
        == original["id"]
    )


def test_a_discharged_client_cannot_be_assessed_and_nothing_is_written(intake: IntakeApi) -> None:
    client = intake.register()
    intake.call(
        "POST",
        f"/clients/{client['id']}/discharge",
        as_=(SUPERVISOR, "supervisor"),
        json_body={"reason_code": "moved_away"},
    )
    before = len(intake.events())
    response = _assess(intake, client["id"], phq9={"items": [0, 0, 0, 0, 0, 0, 0, 0, 3]})
    assert response.status_code == 409
    assert len(intake.events()) == before


def test_case_manager_resolves_a_flag_with_a_note_once(intake: IntakeApi) -> None:
    intake.case_manager("cm-1")
    client = intake.register()
    intake.assign(client["id"], "cm-1")
    flag_id = _assess(intake, client["id"], phq9={"items": [0, 0, 0, 0, 0, 0, 0, 0, 2]}).json[
        "risk_flag_id"
    ]
    path = f"/clients/{client['id']}/risk-flags/{flag_id}/resolve"
    resolved = intake.call(
        "POST", path, as_=("cm-1", "case_manager"), json_body={"note": "Safety plan made."}
    )
    assert resolved.status_code == 200 and resolved.json["status"] == "resolved"
    assert (
        intake.call("POST", path, as_=("cm-1", "case_manager"), json_body={"note": "x"}).status_code
        == 409
    )
    [event] = intake.events("risk.resolved.v1")
    assert event["data"]["resolved_by"] == "cm-1" and "Safety plan" not in str(event)
    flags = intake.call(
        "GET", f"/clients/{client['id']}/risk-flags", as_=("cm-1", "case_manager")
    ).json["items"]
    assert [f["status"] for f in flags] == ["resolved"]
