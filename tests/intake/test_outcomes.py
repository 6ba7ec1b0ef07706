"""Outcomes over time: the PHQ-9 and GAD-7 series of an episode against hand-computed figures
(baseline, change, reliable change, response, remission), amendments taking their original's
place; the reassessment announced once when due (sooner after high risk); and the plan's next
review on the caseload from its approval on."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.intake import operations
from services.intake.settings import ReassessmentPolicy
from shared.clock import agency_date
from shared.contracts import REGISTRY, Event
from shared.outcomes import GAD7, PHQ9, series_outcome
from tests.intake.conftest import IntakeApi

NEEDS = {"housing": {"rating": "unmet_need"}}
PHQ9_18 = [3, 3, 3, 3, 2, 2, 2, 0, 0]
PHQ9_11 = [2, 2, 2, 2, 1, 1, 1, 0, 0]
PHQ9_4 = [1, 1, 1, 1, 0, 0, 0, 0, 0]
GAD7_9 = [2, 2, 2, 1, 1, 1, 0]
GAD7_6 = [1, 1, 1, 1, 1, 1, 0]
POLICY = ReassessmentPolicy(interval_days=90, after_high_risk_days=30)


def assess(intake: IntakeApi, client_id: str, **instruments: Any) -> dict[str, Any]:
    response = intake.call(
        "POST", f"/clients/{client_id}/assessments", json_body={"domains": NEEDS, **instruments}
    )
    assert response.status_code == 201, response.json
    return response.json


def test_the_series_rules_match_hand_computed_figures() -> None:
    assert series_outcome([18, 11, 4], PHQ9).__dict__ == {
        "baseline": 18,
        "latest": 4,
        "change": -14,
        "reliable_change": "improved",
        "response": True,  # 4 <= 18 / 2
        "remission": True,  # 4 < 5
    }
    # 5 points is not reliable on the PHQ-9; 10 -> 5 is a response (exactly 50 %), not remission
    assert series_outcome([10, 5], PHQ9).reliable_change == "unchanged"
    assert series_outcome([10, 5], PHQ9).response is True
    assert series_outcome([10, 5], PHQ9).remission is False
    assert series_outcome([12, 18], PHQ9).reliable_change == "deteriorated"
    # GAD-7: 4 points is reliable; a baseline below 10 has no response or remission to speak of
    assert series_outcome([9, 5], GAD7).reliable_change == "improved"
    assert series_outcome([9, 5], GAD7).response is None
    assert series_outcome([7], GAD7).change is None


def test_a_clients_outcomes_show_change_from_baseline_and_its_meaning(intake: IntakeApi) -> None:
    client = intake.register()
    assess(intake, client["id"], phq9={"items": PHQ9_18}, gad7={"items": GAD7_9})
    middle = assess(intake, client["id"], phq9={"items": PHQ9_11})
    assess(intake, client["id"], phq9={"items": PHQ9_4}, gad7={"items": GAD7_6})
    outcomes = intake.call("GET", f"/clients/{client['id']}/outcomes")
    assert outcomes.status_code == 200, outcomes.json
    phq9, gad7 = outcomes.json["phq9"], outcomes.json["gad7"]
    assert [p["total"] for p in phq9["series"]] == [18, 11, 4]
    assert [p["change_from_baseline"] for p in phq9["series"]] == [0, -7, -14]
    assert (phq9["baseline"], phq9["latest"], phq9["change"]) == (18, 4, -14)
    assert phq9["reliable_change"] == "improved"
    assert phq9["response"] is True and phq9["remission"] is True
    assert [p["total"] for p in gad7["series"]] == [9, 6]
    assert gad7["change"] == -3 and gad7["reliable_change"] == "unchanged"
    assert gad7["response"] is None and gad7["remission"] is None

    # an amendment replaces the score it corrects, at its place in the series
    amended = intake.call(
        "POST",
        f"/clients/{client['id']}/assessments/{middle['id']}/amendments",
        json_body={"domains": NEEDS, "phq9": {"items": PHQ9_18}},
    )
    assert amended.status_code == 201, amended.json
    phq9 = intake.call("GET", f"/clients/{client['id']}/outcomes").json["phq9"]
    assert [p["total"] for p in phq9["series"]] == [18, 18, 4]
    assert phq9["series"][1]["assessment_id"] == amended.json["id"]


def test_outcomes_of_a_client_you_may_not_see_are_not_found(intake: IntakeApi) -> None:
    client = intake.register()
    other = intake.call("GET", f"/clients/{client['id']}/outcomes", as_=("cm-9", "case_manager"))
    assert other.status_code == 404


def _assigned_client(intake: IntakeApi) -> dict[str, Any]:
    intake.case_manager("cm-1")
    client = intake.register()
    assert intake.assign(client["id"], "cm-1").status_code == 201
    return client


def _announce(intake: IntakeApi, today: date) -> int:
    with intake.runtime.unit_of_work() as uow:
        return operations.announce_due_reassessments(uow, today, datetime.now(UTC), POLICY)


def test_a_reassessment_is_announced_once_when_due(intake: IntakeApi) -> None:
    client = _assigned_client(intake)
    assessment = assess(intake, client["id"], phq9={"items": PHQ9_11})
    taken = agency_date(datetime.fromisoformat(assessment["completed_at"]))
    due = taken + timedelta(days=90)
    outcomes = intake.call("GET", f"/clients/{client['id']}/outcomes").json
    assert outcomes["next_reassessment_due"] == due.isoformat()
    assert outcomes["reassessment_reason"] == "routine"
    assert _announce(intake, due - timedelta(days=1)) == 0
    assert _announce(intake, due) == 1
    assert _announce(intake, due + timedelta(days=1)) == 0
    [event] = intake.events("reassessment.due.v1")
    assert event["data"]["due_on"] == due.isoformat()
    assert event["data"]["case_manager_id"] == "cm-1"
    assert event["data"]["last_assessment_id"] == assessment["id"]


def test_a_reassessment_comes_sooner_after_high_risk(intake: IntakeApi) -> None:
    client = _assigned_client(intake)
    assessment = assess(
        intake,
        client["id"],
        cssrs={
            "wish_to_be_dead": True,
            "suicidal_thoughts": True,
            "method": False,
            "intent": True,
            "plan_with_intent": False,
            "behaviour_ever": False,
        },
    )
    assert assessment["risk_level"] == "high"
    taken = agency_date(datetime.fromisoformat(assessment["completed_at"]))
    assert _announce(intake, taken + timedelta(days=30)) == 1
    [event] = intake.events("reassessment.due.v1")
    assert event["data"]["reason"] == "after_high_risk"


def test_the_caseload_shows_the_next_review_from_the_plans_approval(intake: IntakeApi) -> None:
    client = _assigned_client(intake)
    data = {
        "plan_id": str(uuid.uuid4()),
        "client_id": client["id"],
        "episode_id": None,
        "version": 1,
        "owner_id": "cm-1",
        "approved_at": datetime.now(UTC),
        "next_review_due": date(2027, 3, 1),
    }
    [assigned] = intake.events("case.assigned.v1")
    data["episode_id"] = assigned["data"]["episode_id"]
    event_type = "casehub.planning.plan.approved.v1"
    event = Event(
        type=event_type,
        source="/planning",
        subject=f"client/{client['id']}",
        data=REGISTRY.validate(event_type, data, tolerant=True),
    )
    with intake.runtime.unit_of_work() as uow:
        intake.runtime.handlers()["planning.plan.approved.v1"](event, uow)
    caseload = intake.call("GET", "/case-managers/cm-1/caseload", as_=("cm-1", "case_manager"))
    assert caseload.status_code == 200, caseload.json
    [entry] = caseload.json["items"]
    assert entry["next_review_due"] == "2027-03-01"
