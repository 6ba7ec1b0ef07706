"""Discharge: a summary with the reason, services, goals achieved, PHQ-9/GAD-7 at start and end,
follow-up and who was told; the former case manager keeps read access for the continuity
period (audited) and loses it after; a re-admission brings the history to the new team."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.planning.conftest import OWNER, SUPERVISOR, PlanningApi
from tests.planning.test_contacts import contact_body

SUMMARY = {
    "reason": "Goals met",
    "services_received": ["Case management", "Tenancy support"],
    "follow_up": "GP review in 4 weeks",
    "told": ["GP", "Sister"],
}


def assessed(
    planning: PlanningApi, ids: dict[str, str], phq9: int | None, gad7: int | None, days: int
) -> str:
    """An assessment completed ``days`` from now with the given totals (None: scale not used)."""
    assessment_id = str(uuid.uuid4())
    scales = {
        name: {"total": total, "severity": "moderate"}
        for name, total in (("phq9", phq9), ("gad7", gad7))
        if total is not None
    }
    planning.deliver(
        "intake.assessment.completed.v1",
        {
            **{k: ids[k] for k in ("client_id", "client_reference", "episode_id")},
            "assessment_id": assessment_id,
            "version": 1,
            "completed_at": datetime.now(UTC) + timedelta(days=days),
            "unmet_needs": ["housing"],
            **scales,
            "risk_level": "none",
        },
    )
    return assessment_id


def discharge(planning: PlanningApi, ids: dict[str, str], at: datetime) -> None:
    planning.deliver(
        "intake.client.discharged.v1",
        {
            **{k: ids[k] for k in ("client_id", "client_reference", "episode_id")},
            "discharged_at": at,
            "reason_code": "goals_met",
            "care_version": 99,
        },
    )


def test_the_summary_carries_goals_achieved_and_scores_at_start_and_end(
    planning: PlanningApi,
) -> None:
    ids = planning.new_episode(unmet=["housing"])
    assessed(planning, ids, phq9=16, gad7=12, days=1)
    assessed(planning, ids, phq9=4, gad7=3, days=60)
    planning.write_goals(ids["plan_id"])
    assert planning.approve(ids["plan_id"]).status_code == 200
    goal = planning.plan(ids["plan_id"])["working_version"]["content"]["goals"][0]["id"]
    achieved = planning.call(
        "POST",
        f"/plans/{ids['plan_id']}/goals/{goal}/progress-notes",
        json_body={"note": "Keys received", "attainment": 2, "achieved": True},
    )
    assert achieved.status_code == 201, achieved.json
    written = planning.call(
        "PUT", f"/clients/{ids['client_id']}/discharge-summary", json_body=SUMMARY
    )
    assert written.status_code == 200, written.json
    summary = written.json
    assert summary["goals_achieved"] == [{"goal_id": goal, "domain": "housing"}]
    assert summary["phq9"] == {"start": 16, "end": 4} and summary["gad7"] == {"start": 12, "end": 3}
    assert summary["told"] == ["GP", "Sister"] and summary["discharged_at"] is None
    discharge(planning, ids, datetime.now(UTC))
    after = planning.call("GET", f"/clients/{ids['client_id']}/discharge-summary").json
    assert after["discharged_at"] is not None and after["reason"] == "Goals met"


def test_start_and_end_scores_do_not_depend_on_the_order_assessments_arrive_in(
    planning: PlanningApi,
) -> None:
    """Each scale's start is its earliest total and its end its latest, even when a later
    assessment without that scale, or an older one retried, arrives first."""
    scores = []
    for order in ((1, 2, 3), (3, 2, 1), (2, 3, 1)):
        ids = planning.new_episode(unmet=["housing"])
        given = {1: (18, None, 10), 2: (None, 9, 20), 3: (12, 5, 30)}  # day -> (phq9, gad7, days)
        for day in order:
            phq9, gad7, days = given[day]
            assessed(planning, ids, phq9=phq9, gad7=gad7, days=days)
        summary = planning.call("GET", f"/clients/{ids['client_id']}/discharge-summary").json
        scores.append((summary["phq9"], summary["gad7"]))
    assert scores == [({"start": 18, "end": 12}, {"start": 9, "end": 5})] * 3


def test_a_late_older_assessment_neither_adds_goals_nor_becomes_the_plans_basis(
    planning: PlanningApi,
) -> None:
    ids = planning.new_episode(unmet=["housing"])
    newer = assessed(planning, ids, phq9=5, gad7=4, days=30)
    planning.deliver(
        "intake.assessment.completed.v1",
        {
            **{k: ids[k] for k in ("client_id", "client_reference", "episode_id")},
            "assessment_id": str(uuid.uuid4()),
            "version": 1,
            "completed_at": datetime.now(UTC) + timedelta(days=10),  # before the newer one
            "unmet_needs": ["housing", "income"],
            "phq9": {"total": 20, "severity": "severe"},
            "risk_level": "none",
        },
    )
    plan = planning.plan(ids["plan_id"])
    assert plan["latest_assessment_id"] == newer
    assert [g["domain"] for g in plan["working_version"]["content"]["goals"]] == ["housing"]
    summary = planning.call("GET", f"/clients/{ids['client_id']}/discharge-summary").json
    assert summary["phq9"] == {"start": 20, "end": 5}  # its score still counts


def test_the_former_case_manager_reads_the_closed_record_for_the_continuity_period(
    planning: PlanningApi,
) -> None:
    ids = planning.new_episode(unmet=["housing"])
    contact = planning.call(
        "POST", f"/clients/{ids['client_id']}/contacts", json_body=contact_body()
    )
    assert contact.status_code == 201
    carried = planning.call("GET", f"/clients/{ids['client_id']}/discharge-summary")
    assert carried.json["readable_until"] is None  # carried now: no hand-over period
    discharged_at = datetime.now(UTC)
    discharge(planning, ids, discharged_at)
    plan = planning.call("GET", f"/plans/{ids['plan_id']}")
    assert plan.status_code == 200 and plan.json["status"] == "closed"
    assert planning.call("GET", f"/clients/{ids['client_id']}/contacts").status_code == 200
    drafted = planning.call("GET", f"/clients/{ids['client_id']}/discharge-summary")
    assert drafted.status_code == 200 and drafted.json["reason"] == "goals_met"
    # the former case manager is told until when (the web app says so on the closed record)
    until = datetime.fromisoformat(drafted.json["readable_until"])
    assert abs(
        until.replace(tzinfo=until.tzinfo or UTC) - (discharged_at + timedelta(days=30))
    ) < timedelta(seconds=1)
    admin = planning.call(
        "GET", f"/clients/{ids['client_id']}/discharge-summary", as_=("admin-1", "admin")
    )
    assert admin.json["readable_until"] is None
    completed = planning.call(
        "PUT", f"/clients/{ids['client_id']}/discharge-summary", json_body=SUMMARY
    )
    assert completed.status_code == 200 and completed.json["reason"] == "Goals met"
    # writing new casework is over: the client is no longer carried
    refused = planning.call(
        "POST", f"/clients/{ids['client_id']}/contacts", json_body=contact_body()
    )
    assert refused.status_code == 404
    reads = planning.call(
        "GET", "/audit", as_=("admin-1", "admin"), query={"client_id": ids["client_id"]}
    ).json["items"]
    assert any(
        r["action"] == "read" and r["entity"] == "discharge_summary" and r["detail"]["continuity"]
        for r in reads
    )


def test_continuity_ends_after_its_days(planning: PlanningApi) -> None:
    ids = planning.new_episode(unmet=["housing"])
    discharge(planning, ids, datetime.now(UTC) - timedelta(days=31))
    assert planning.call("GET", f"/plans/{ids['plan_id']}").status_code == 404
    assert planning.call("GET", f"/clients/{ids['client_id']}/contacts").status_code == 404
    assert planning.call("GET", f"/clients/{ids['client_id']}/discharge-summary").status_code == 404
    admin = planning.call("GET", f"/plans/{ids['plan_id']}", as_=("admin-1", "admin"))
    assert admin.status_code == 200


def test_a_readmission_brings_the_history_to_the_new_team(planning: PlanningApi) -> None:
    ids = planning.new_episode(unmet=["housing"])
    planning.call("POST", f"/clients/{ids['client_id']}/contacts", json_body=contact_body())
    discharge(planning, ids, datetime.now(UTC) - timedelta(days=60))
    new_episode = str(uuid.uuid4())
    planning.deliver(
        "intake.case.assigned.v1",
        {
            "client_id": ids["client_id"],
            "client_reference": ids["client_reference"],
            "episode_id": new_episode,
            "case_manager_id": "cm-7",
            "supervisor_id": "sup-7",
            "assigned_by": "iw-1",
            "method": "explicit",
            "over_cap": False,
            "assigned_at": datetime.now(UTC),
        },
    )
    new = ("cm-7", "case_manager")
    history = planning.call("GET", f"/clients/{ids['client_id']}/contacts", as_=new)
    assert history.status_code == 200 and len(history.json["items"]) == 1
    old_plan = planning.call("GET", f"/plans/{ids['plan_id']}", as_=new)
    assert old_plan.status_code == 200 and old_plan.json["status"] == "closed"
    listed = planning.call("GET", "/plans", as_=new, query={"client_id": ids["client_id"]})
    assert [p["id"] for p in listed.json["items"]] == [ids["plan_id"]]
    # the first episode's case manager, past the continuity period, sees none of it
    assert (
        planning.call("GET", f"/plans/{ids['plan_id']}", as_=(OWNER, "case_manager")).status_code
        == 404
    )
    former_supervisor = planning.call(
        "GET", f"/clients/{ids['client_id']}/contacts", as_=(SUPERVISOR, "supervisor")
    )
    assert former_supervisor.status_code == 404
