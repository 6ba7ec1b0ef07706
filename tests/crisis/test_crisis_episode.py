"""A high risk flag opens a crisis episode with follow-up contacts at 24 and 72 hours, made once
however often the event comes; a hospital discharge reported by the case manager starts the same
follow-up; actions, outcome and a closing note are recorded."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.crisis.conftest import PURPOSE, high_risk_client, relay
from tests.intake.conftest import IntakeApi
from tests.planning.conftest import PlanningApi

CM, OTHER_CM, SUP = ("cm-1", "case_manager"), ("cm-9", "case_manager"), ("sup-1", "supervisor")


def _crises(planning: PlanningApi, client_id: str, as_: tuple[str, str] = CM) -> list[dict]:
    response = planning.call("GET", f"/clients/{client_id}/crisis-episodes", as_=as_)
    assert response.status_code == 200, response.json
    return response.json["items"]


def test_a_high_flag_opens_one_crisis_with_follow_ups_even_when_redelivered(
    intake: IntakeApi, planning: PlanningApi
) -> None:
    client = high_risk_client(intake)
    relay(intake, planning, "case.assigned.v1")
    [flagged] = relay(intake, planning, "risk.flagged.v1")
    relay(intake, planning, "risk.flagged.v1")  # the same event again
    planning.deliver("intake.risk.flagged.v1", flagged["data"])  # replayed under a new id
    [crisis] = _crises(planning, client["id"])
    assert crisis["source"] == "risk_flag" and crisis["status"] == "open"
    opened = datetime.fromisoformat(crisis["opened_at"])
    follow_ups = {f["kind"]: f for f in crisis["follow_ups"]}
    assert set(follow_ups) == {"contact_within_24h", "contact_within_72h"}
    assert datetime.fromisoformat(follow_ups["contact_within_24h"]["due_at"]) == opened + timedelta(
        hours=24
    )
    assert datetime.fromisoformat(follow_ups["contact_within_72h"]["due_at"]) == opened + timedelta(
        hours=72
    )
    assert all(f["assignee_id"] == "cm-1" for f in crisis["follow_ups"])
    worklist = planning.call("GET", "/follow-ups", as_=CM, query={"status": "open"}).json["items"]
    assert len(worklist) == 2
    assert planning.call("GET", "/follow-ups", as_=OTHER_CM).json["items"] == []


def test_crisis_follow_ups_are_on_the_case_managers_one_worklist(
    intake: IntakeApi, planning: PlanningApi
) -> None:
    """A follow-up is a task like any other: on /me/worklist with its exact due time, the most
    pressing first; recording it from the crisis side closes the same task."""
    client = high_risk_client(intake)
    relay(intake, planning, "case.assigned.v1")
    relay(intake, planning, "risk.flagged.v1")
    [crisis] = _crises(planning, client["id"])
    follow_ups = {f["kind"]: f for f in crisis["follow_ups"]}
    day = planning.call("GET", "/me/worklist", as_=CM).json["items"]
    on_worklist = {t["id"]: t for t in day if t["source"] == "crisis_follow_up"}
    assert set(on_worklist) == {f["id"] for f in follow_ups.values()}
    within_24h = on_worklist[follow_ups["contact_within_24h"]["id"]]
    assert within_24h["priority"] == "urgent"
    assert within_24h["crisis_episode_id"] == crisis["id"]
    assert within_24h["due_at"] == follow_ups["contact_within_24h"]["due_at"]
    assert within_24h["client_reference"] == client["reference"]
    assert within_24h["late"] is False
    assert planning.call("GET", "/me/worklist", as_=OTHER_CM).json["items"] == []

    done = planning.call("POST", f"/follow-ups/{within_24h['id']}/complete", as_=CM, json_body=None)
    assert done.status_code == 200, done.json
    assert done.json["status"] == "done" and done.json["done_by"] == "cm-1"
    left = planning.call("GET", "/me/worklist", as_=CM).json["items"]
    assert within_24h["id"] not in {t["id"] for t in left}
    again = planning.call("POST", f"/follow-ups/{within_24h['id']}/complete", as_=CM)
    assert again.status_code == 409
    # a task that is not a follow-up is not one here either
    own = planning.call(
        "POST", "/tasks", as_=CM, json_body={"title": "Call GP", "due_on": "2027-01-04"}
    )
    assert own.status_code == 201, own.json
    assert (
        planning.call("POST", f"/follow-ups/{own.json['id']}/complete", as_=CM).status_code == 404
    )


def test_a_crisis_records_what_was_done_its_outcome_and_closes_with_a_note(
    intake: IntakeApi, planning: PlanningApi
) -> None:
    client = high_risk_client(intake)
    relay(intake, planning, "case.assigned.v1")
    relay(intake, planning, "risk.flagged.v1")
    [crisis] = _crises(planning, client["id"])
    for action in ("safety_plan_reviewed", "means_restriction", "emergency_services_called"):
        done = planning.call(
            "POST", f"/crisis-episodes/{crisis['id']}/actions", as_=CM, json_body={"action": action}
        )
        assert done.status_code == 200, done.json
    # on call may record what they did under an emergency grant, and not without one
    on_call = ("dr-night", "on_call")
    refused = planning.call(
        "POST",
        f"/crisis-episodes/{crisis['id']}/actions",
        as_=on_call,
        json_body={"action": "admission"},
    )
    assert refused.status_code == 404
    intake.call("POST", f"/clients/{client['id']}/emergency-access", as_=on_call, headers=PURPOSE)
    relay(intake, planning, "access.emergency_granted.v1")
    admitted = planning.call(
        "POST",
        f"/crisis-episodes/{crisis['id']}/actions",
        as_=on_call,
        json_body={"action": "admission"},
    )
    assert admitted.status_code == 200
    assert [a["action"] for a in admitted.json["actions"]] == [
        "safety_plan_reviewed",
        "means_restriction",
        "emergency_services_called",
        "admission",
    ]
    bad = planning.call(
        "POST", f"/crisis-episodes/{crisis['id']}/actions", as_=CM, json_body={"action": "prayer"}
    )
    assert bad.status_code == 422
    closed = planning.call(
        "POST",
        f"/crisis-episodes/{crisis['id']}/close",
        as_=CM,
        json_body={"outcome": "admitted", "note": "Admitted voluntarily to ward 3."},
    )
    assert closed.status_code == 200, closed.json
    assert closed.json["status"] == "closed" and closed.json["outcome"] == "admitted"
    assert closed.json["close_note"] == "Admitted voluntarily to ward 3."
    again = planning.call(
        "POST",
        f"/crisis-episodes/{crisis['id']}/close",
        as_=CM,
        json_body={"outcome": "admitted", "note": "twice"},
    )
    assert again.status_code == 409
    assert (
        planning.call("GET", f"/clients/{client['id']}/crisis-episodes", as_=OTHER_CM).status_code
        == 404
    )


def test_a_hospital_discharge_reported_by_the_case_manager_starts_the_same_follow_up(
    intake: IntakeApi, planning: PlanningApi
) -> None:
    client = high_risk_client(intake)
    relay(intake, planning, "case.assigned.v1")
    discharged = "2026-12-01T09:30:00+00:00"
    refused = planning.call(
        "POST",
        f"/clients/{client['id']}/hospital-discharges",
        as_=OTHER_CM,
        json_body={"discharged_at": discharged},
    )
    assert refused.status_code == 404
    reported = planning.call(
        "POST",
        f"/clients/{client['id']}/hospital-discharges",
        as_=CM,
        json_body={"discharged_at": discharged},
    )
    assert reported.status_code == 201, reported.json
    due = sorted(f["due_at"] for f in reported.json["follow_ups"])
    assert [datetime.fromisoformat(d) for d in due] == [
        datetime.fromisoformat(discharged) + timedelta(hours=24),
        datetime.fromisoformat(discharged) + timedelta(hours=72),
    ]
    task = reported.json["follow_ups"][0]["id"]
    done = planning.call("POST", f"/follow-ups/{task}/complete", as_=CM)
    assert (
        done.status_code == 200 and done.json["status"] == "done" and done.json["done_by"] == "cm-1"
    )
    assert planning.call("POST", f"/follow-ups/{task}/complete", as_=CM).status_code == 409
    assert planning.call("POST", f"/follow-ups/{task}/complete", as_=OTHER_CM).status_code == 404
    open_tasks = planning.call("GET", "/follow-ups", as_=SUP, query={"status": "open"}).json[
        "items"
    ]
    assert [t["kind"] for t in open_tasks] == ["contact_within_72h"]
