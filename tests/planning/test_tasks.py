"""Tasks raised exactly once from each source, even when its event comes again; done or
dismissed with a reason; the case manager's worklist and the supervisor's view of what is late."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.planning import operations
from shared.clock import Clock
from tests.planning.conftest import COMPLETE_SAFETY_PLAN, OWNER, SUPERVISOR, PlanningApi
from tests.planning.test_contacts import assigned_client

TODAY = date(2026, 11, 30)
NOON = datetime(2026, 11, 30, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock(planning: PlanningApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(planning.runtime, "clock", Clock(fixed=NOON))


def worklist(planning: PlanningApi, as_: tuple[str, ...] = (OWNER, "case_manager")) -> list[Any]:
    response = planning.call("GET", "/me/worklist", as_=as_)
    assert response.status_code == 200, response.json
    return response.json["items"]


def sources(planning: PlanningApi) -> list[str]:
    return [task["source"] for task in worklist(planning)]


def referral_event(ids: dict[str, str], status: str, referral_id: str) -> dict[str, Any]:
    return {
        "referral_id": referral_id,
        "client_id": ids["client_id"],
        "client_reference": ids["client_reference"],
        "organization_id": "housing-first",
        "status": status,
        "from_status": "requested",
        "by_side": "partner",
        "at": NOON,
    }


def test_a_strategy_due_by_makes_one_task_even_when_the_plan_is_approved_again(
    planning: PlanningApi,
) -> None:
    ids = planning.new_episode(unmet=["housing"])
    goal = planning.plan(ids["plan_id"])["working_version"]["content"]["goals"][0]["id"]
    added = planning.call(
        "POST",
        f"/plans/{ids['plan_id']}/goals/{goal}/strategies",
        json_body={
            "description": "Apply for benefit",
            "responsible": "client",
            "due_by": "2026-12-15",
        },
    )
    assert added.status_code == 201, added.json
    planning.write_goals(ids["plan_id"])
    assert planning.approve(ids["plan_id"]).status_code == 200
    assert planning.call("POST", f"/plans/{ids['plan_id']}/start-review").status_code == 200
    assert planning.approve(ids["plan_id"]).status_code == 200
    [task] = worklist(planning)
    assert task["source"] == "strategy_due" and task["due_on"] == "2026-12-15"
    assert task["client_reference"] == "C-1001" and task["late"] is False


def test_a_review_due_makes_one_task_however_often_the_scheduler_runs(
    planning: PlanningApi,
) -> None:
    ids = planning.new_episode(unmet=["housing"])
    planning.write_goals(ids["plan_id"])
    planning.approve(ids["plan_id"])
    later = TODAY + timedelta(days=91)
    for _ in range(2):
        with planning.runtime.unit_of_work() as uow:
            operations.announce_due_reviews(uow, later, NOON)
    assert sources(planning) == ["review_due"]
    # the review held (the plan approved again with the client): its task closes itself
    assert planning.call("POST", f"/plans/{ids['plan_id']}/start-review").status_code == 200
    assert planning.approve(ids["plan_id"]).status_code == 200
    assert sources(planning) == []


@pytest.mark.parametrize("status", ["rejected", "failed"])
def test_a_rejected_or_failed_referral_makes_one_task_when_redelivered(
    planning: PlanningApi, status: str
) -> None:
    ids = assigned_client(planning)
    event = referral_event(ids, status, str(uuid.uuid4()))
    event_id = str(uuid.uuid4())
    for _ in range(2):
        planning.deliver("referrals.referral.status_changed.v1", event, event_id=event_id)
    [task] = worklist(planning)
    assert task["source"] == f"referral_{status}" and task["priority"] == "high"
    planning.deliver("referrals.referral.status_changed.v1", referral_event(ids, "accepted", "r"))
    assert len(worklist(planning)) == 1


def test_an_overdue_referral_makes_one_task(planning: PlanningApi) -> None:
    ids = assigned_client(planning)
    event = {**referral_event(ids, "requested", str(uuid.uuid4())), "sent_at": NOON}
    for key in ("from_status", "by_side"):
        del event[key]
    for _ in range(2):
        planning.deliver("referrals.referral.overdue.v1", event)
    assert sources(planning) == ["referral_overdue"]


def consent(ids: dict[str, str], expires_on: date | None) -> dict[str, Any]:
    return {
        "consent_id": str(uuid.uuid4()),
        "client_id": ids["client_id"],
        "organization_id": "housing-first",
        "categories": ["contact_details"],
        "starts_on": "2026-01-01",
        "expires_on": expires_on,
    }


def test_a_consent_expiring_within_14_days_makes_one_task(planning: PlanningApi) -> None:
    ids = assigned_client(planning)
    soon = consent(ids, TODAY + timedelta(days=10))
    for _ in range(2):
        planning.deliver("intake.consent.granted.v1", soon)
    with planning.runtime.unit_of_work() as uow:
        operations.announce_expiring_consents(uow, TODAY)
    [task] = worklist(planning)
    assert task["source"] == "consent_expiring" and task["due_on"] == soon["expires_on"].isoformat()


def test_a_later_consent_gets_its_task_when_it_enters_its_last_14_days_unless_revoked(
    planning: PlanningApi,
) -> None:
    ids = assigned_client(planning)
    later = consent(ids, TODAY + timedelta(days=30))
    revoked = consent(ids, TODAY + timedelta(days=30))
    open_ended = consent(ids, None)
    for data in (later, revoked, open_ended):
        planning.deliver("intake.consent.granted.v1", data)
    planning.deliver(
        "intake.consent.revoked.v1",
        {
            **{k: revoked[k] for k in ("consent_id", "client_id", "organization_id", "categories")},
            "revoked_at": NOON,
            "reason": "revoked",
        },
    )
    assert worklist(planning) == []
    for day in (TODAY + timedelta(days=15), TODAY + timedelta(days=16), TODAY + timedelta(days=17)):
        with planning.runtime.unit_of_work() as uow:
            operations.announce_expiring_consents(uow, day)
    [task] = worklist(planning)
    assert task["source"] == "consent_expiring"


def high_risk(ids: dict[str, str], flag_id: str) -> dict[str, Any]:
    return {
        **{k: ids[k] for k in ("client_id", "client_reference", "episode_id")},
        "flag_id": flag_id,
        "assessment_id": str(uuid.uuid4()),
        "level": "high",
        "reasons": ["cssrs_intent"],
        "case_manager_id": OWNER,
        "supervisor_id": SUPERVISOR,
        "flagged_at": NOON,
    }


def test_a_high_risk_flag_without_a_safety_plan_makes_one_urgent_task(
    planning: PlanningApi,
) -> None:
    ids = planning.new_episode(unmet=["housing"])
    flag = high_risk(ids, str(uuid.uuid4()))
    for _ in range(2):
        planning.deliver("intake.risk.flagged.v1", flag)
    tasks = worklist(planning)
    [task] = [t for t in tasks if t["source"] != "crisis_follow_up"]
    assert task["source"] == "safety_plan_missing" and task["priority"] == "urgent"
    # the crisis it opened puts its two follow-ups on the same worklist, once each
    assert len([t for t in tasks if t["source"] == "crisis_follow_up"]) == 2
    assert task["due_on"] == TODAY.isoformat()


def _assigned(ids: dict[str, str], case_manager_id: str, care_version: int) -> dict[str, Any]:
    return {
        **{k: ids[k] for k in ("client_id", "client_reference", "episode_id")},
        "case_manager_id": case_manager_id,
        "supervisor_id": SUPERVISOR,
        "assigned_by": "iw-1",
        "method": "explicit",
        "over_cap": False,
        "assigned_at": NOON,
        "care_version": care_version,
    }


def test_a_high_risk_flag_handled_before_the_assignment_it_follows_still_reaches_the_carer(
    planning: PlanningApi,
) -> None:
    """intake assigned the client to cm-1, then flagged high risk; planning handled the flag
    first (the assignment went through a retry). The urgent task and the follow-ups are on the
    case manager's list all the same, not owned by nobody."""
    ids = {
        "client_id": str(uuid.uuid4()),
        "client_reference": "C-1001",
        "episode_id": str(uuid.uuid4()),
    }
    planning.deliver("intake.risk.flagged.v1", high_risk(ids, str(uuid.uuid4())))
    assert sorted(sources(planning)) == ["crisis_follow_up"] * 2 + ["safety_plan_missing"]
    planning.deliver("intake.case.assigned.v1", _assigned(ids, OWNER, 1))
    assert sorted(sources(planning)) == ["crisis_follow_up"] * 2 + ["safety_plan_missing"]
    without_a_name = {**high_risk(ids, str(uuid.uuid4())), "case_manager_id": None}
    other = {**ids, "episode_id": str(uuid.uuid4())}
    planning.deliver("intake.risk.flagged.v1", {**without_a_name, **other})
    assert len(worklist(planning, ("cm-3", "case_manager"))) == 0
    planning.deliver("intake.case.assigned.v1", _assigned(other, "cm-3", 1))  # now it has one
    assert sorted(sources(planning)) == ["crisis_follow_up"] * 2 + ["safety_plan_missing"]
    taken = sorted(t["source"] for t in worklist(planning, ("cm-3", "case_manager")))
    assert taken == ["crisis_follow_up"] * 2 + ["safety_plan_missing"]


def test_a_reassigned_client_s_open_tasks_go_to_the_new_case_manager(
    planning: PlanningApi,
) -> None:
    ids = planning.new_episode(unmet=["housing"])
    planning.deliver("intake.risk.flagged.v1", high_risk(ids, str(uuid.uuid4())))
    [done] = [t for t in worklist(planning) if t["source"] == "crisis_follow_up"][:1]
    closed = planning.call("POST", f"/tasks/{done['id']}/close", json_body={"status": "done"})
    assert closed.status_code == 200, closed.json
    planning.deliver("intake.case.assigned.v1", _assigned(ids, "cm-2", 5))
    assert worklist(planning) == []
    moved = sorted(t["source"] for t in worklist(planning, ("cm-2", "case_manager")))
    assert moved == ["crisis_follow_up", "safety_plan_missing"]  # the one done stays done


def test_a_high_risk_flag_on_an_agreed_safety_plan_makes_no_task(planning: PlanningApi) -> None:
    ids = planning.new_episode(unmet=["housing"])
    planning.write_goals(ids["plan_id"])
    saved = planning.call(
        "PUT", f"/plans/{ids['plan_id']}/safety-plan", json_body=COMPLETE_SAFETY_PLAN
    )
    assert saved.status_code == 200, saved.json
    assert planning.approve(ids["plan_id"]).status_code == 200
    planning.deliver("intake.risk.flagged.v1", high_risk(ids, str(uuid.uuid4())))
    assert [t["source"] for t in worklist(planning)] == ["crisis_follow_up"] * 2


def test_tasks_are_done_or_dismissed_with_a_reason_once(planning: PlanningApi) -> None:
    made = [
        planning.call(
            "POST",
            "/tasks",
            json_body={"title": title, "due_on": due, "priority": priority},
        )
        for title, due, priority in (
            ("Call the landlord", "2026-12-02", "normal"),
            ("Send the form", "2026-11-29", "low"),
            ("Book the GP", "2026-12-02", "urgent"),
        )
    ]
    assert all(r.status_code == 201 for r in made), [r.json for r in made]
    assert [t["title"] for t in worklist(planning)] == [
        "Send the form",
        "Book the GP",
        "Call the landlord",
    ]
    assert [t["late"] for t in worklist(planning)] == [True, False, False]
    first, second = made[0].json["id"], made[1].json["id"]
    unexplained = planning.call("POST", f"/tasks/{first}/close", json_body={"status": "dismissed"})
    assert unexplained.status_code == 422
    dismissed = planning.call(
        "POST",
        f"/tasks/{first}/close",
        json_body={"status": "dismissed", "reason": "Landlord called us"},
    )
    assert dismissed.status_code == 200 and dismissed.json["close_reason"] == "Landlord called us"
    done = planning.call("POST", f"/tasks/{second}/close", json_body={"status": "done"})
    assert done.status_code == 200 and done.json["status"] == "done"
    again = planning.call("POST", f"/tasks/{second}/close", json_body={"status": "done"})
    assert again.status_code == 409
    assert [t["title"] for t in worklist(planning)] == ["Book the GP"]
    other = planning.call(
        "POST",
        f"/tasks/{made[2].json['id']}/close",
        as_=("cm-9", "case_manager"),
        json_body={"status": "done"},
    )
    assert other.status_code == 404


def team(planning: PlanningApi, case_manager: str, name: str, supervisor: str) -> None:
    planning.deliver(
        "intake.case_manager.updated.v1",
        {
            "case_manager_id": case_manager,
            "team": name,
            "supervisor_id": supervisor,
            "caseload_cap": 50,
            "active": True,
            "version": 1,
            "updated_at": NOON,
            "client_id": "-",
        },
    )


def test_the_supervisor_sees_what_is_late_in_their_team_only(planning: PlanningApi) -> None:
    team(planning, OWNER, "north", SUPERVISOR)
    team(planning, "cm-2", "south", "sup-2")
    for owner, due in ((OWNER, "2026-11-20"), (OWNER, "2026-12-20"), ("cm-2", "2026-11-20")):
        made = planning.call(
            "POST",
            "/tasks",
            as_=(owner, "case_manager"),
            json_body={"title": f"Task of {owner} due {due}", "due_on": due},
        )
        assert made.status_code == 201, made.json
    late = planning.call("GET", "/teams/north/worklist", as_=(SUPERVISOR, "supervisor"))
    assert late.status_code == 200, late.json
    assert [t["title"] for t in late.json["items"]] == [f"Task of {OWNER} due 2026-11-20"]
    every = planning.call(
        "GET",
        "/teams/north/worklist",
        as_=(SUPERVISOR, "supervisor"),
        query={"late_only": "false"},
    )
    assert len(every.json["items"]) == 2
    assert (
        planning.call("GET", "/teams/south/worklist", as_=(SUPERVISOR, "supervisor")).status_code
        == 404
    )
    admin = planning.call("GET", "/teams/south/worklist", as_=("admin-1", "admin"))
    assert [t["owner_id"] for t in admin.json["items"]] == ["cm-2"]


def test_a_reassessment_due_makes_one_task(planning: PlanningApi) -> None:
    ids = assigned_client(planning)
    event = {
        **ids,
        "due_on": date(2027, 2, 28),
        "reason": "after_high_risk",
        "last_assessment_id": str(uuid.uuid4()),
        "case_manager_id": OWNER,
    }
    for _ in range(2):
        planning.deliver("intake.reassessment.due.v1", event)
    [task] = worklist(planning)
    assert task["source"] == "reassessment_due" and task["due_on"] == "2027-02-28"
    assert task["priority"] == "high"
