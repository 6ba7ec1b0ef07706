"""A reassessment of an approved plan: its new unmet needs become suggested changes shown on the
plan and in its review, taken up as draft goals or dismissed with a reason, never ignored."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import update

from services.planning.models import Review
from tests.planning.conftest import SUPERVISOR, PlanningApi


def _active_plan(planning: PlanningApi) -> dict[str, str]:
    ids = planning.new_episode(unmet=["housing"])
    planning.write_goals(ids["plan_id"])
    assert planning.approve(ids["plan_id"]).status_code == 200
    return ids


def _reassessed(
    planning: PlanningApi, ids: dict[str, str], unmet: list[str], event_id: str | None = None
) -> dict[str, Any]:
    data = {
        "client_id": ids["client_id"],
        "client_reference": "C-1001",
        "episode_id": ids["episode_id"],
        "assessment_id": ids.get("assessment_id") or str(uuid.uuid4()),
        "version": 2,
        "completed_at": datetime.now(UTC),
        "unmet_needs": unmet,
        "risk_level": "none",
    }
    planning.deliver("intake.assessment.completed.v1", data, event_id=event_id)
    return data


def test_new_unmet_needs_become_suggestions_on_the_active_plan(planning: PlanningApi) -> None:
    ids = _active_plan(planning)
    before = planning.plan(ids["plan_id"])
    _reassessed(planning, ids, ["housing", "income", "substance_use"])
    plan = planning.plan(ids["plan_id"])
    # The agreed plan is unchanged: same version, same goals.
    assert plan["current_version"] == before["current_version"]
    assert plan["working_version"]["content"] == before["working_version"]["content"]
    suggested = [(s["domain"], s["status"]) for s in plan["suggested_changes"]]
    assert suggested == [("income", "open"), ("substance_use", "open")]  # housing has a goal


def test_a_redelivered_or_repeated_assessment_suggests_each_need_once(
    planning: PlanningApi,
) -> None:
    ids = _active_plan(planning)
    event_id = str(uuid.uuid4())
    ids["assessment_id"] = str(uuid.uuid4())
    _reassessed(planning, ids, ["income"], event_id=event_id)
    _reassessed(planning, ids, ["income"], event_id=event_id)  # redelivered
    _reassessed(planning, ids, ["income"])  # published again under a new id
    del ids["assessment_id"]
    _reassessed(planning, ids, ["income"])  # a later assessment, still waiting for the review
    assert [s["domain"] for s in planning.plan(ids["plan_id"])["suggested_changes"]] == ["income"]


def test_the_review_takes_up_or_dismisses_each_suggestion_before_approval(
    planning: PlanningApi,
) -> None:
    ids = _active_plan(planning)
    plan_id = ids["plan_id"]
    _reassessed(planning, ids, ["income", "relationships"])
    income, relationships = planning.plan(plan_id)["suggested_changes"]
    take_up = f"/plans/{plan_id}/suggested-changes/{income['id']}/take-up"
    assert planning.call("POST", take_up).status_code == 409  # decided at the review, not now
    overdue = planning.call("POST", f"/plans/{plan_id}/start-review")
    assert overdue.status_code == 200
    taken = planning.call("POST", take_up)
    assert taken.status_code == 200, taken.json
    [new_goal] = [
        g for g in taken.json["working_version"]["content"]["goals"] if g["domain"] == "income"
    ]
    assert new_goal["status"] == "proposed"
    [decided] = [s for s in taken.json["suggested_changes"] if s["id"] == income["id"]]
    assert decided["status"] == "taken_up" and decided["goal_id"] == new_goal["id"]
    assert planning.call("POST", take_up).status_code == 409  # once

    planning.write_goals(plan_id)
    refused = planning.approve(plan_id)
    assert refused.status_code == 409
    assert [s["domain"] for s in refused.json["open_suggestions"]] == ["relationships"]

    dismiss = f"/plans/{plan_id}/suggested-changes/{relationships['id']}/dismiss"
    assert planning.call("POST", dismiss, json_body={"reason": ""}).status_code == 422
    dismissed = planning.call(
        "POST",
        dismiss,
        json_body={"reason": "Family support is in place"},
        as_=(SUPERVISOR, "supervisor"),
    )
    assert dismissed.status_code == 200, dismissed.json
    [row] = [s for s in dismissed.json["suggested_changes"] if s["id"] == relationships["id"]]
    assert row["status"] == "dismissed" and row["dismiss_reason"] == "Family support is in place"
    assert row["decided_by"] == SUPERVISOR
    approved = planning.approve(plan_id)
    assert approved.status_code == 200, approved.json
    assert "income" in {g["domain"] for g in approved.json["working_version"]["content"]["goals"]}


def test_a_draft_plan_takes_new_needs_as_goals_directly(planning: PlanningApi) -> None:
    ids = planning.new_episode(unmet=["housing"])
    _reassessed(planning, ids, ["housing", "income"])
    plan = planning.plan(ids["plan_id"])
    assert {g["domain"] for g in plan["working_version"]["content"]["goals"]} == {
        "housing",
        "income",
    }
    assert plan["suggested_changes"] == []


def test_unknown_suggestions_and_other_peoples_plans_are_not_found(
    planning: PlanningApi,
) -> None:
    ids = _active_plan(planning)
    planning.call("POST", f"/plans/{ids['plan_id']}/start-review")
    missing = planning.call("POST", f"/plans/{ids['plan_id']}/suggested-changes/nope/take-up")
    assert missing.status_code == 404
    assert missing.headers["Content-Type"].startswith("application/problem+json")
    _reassessed(planning, ids, ["income"])  # under review: a goal in the draft, no suggestion
    [other] = [
        planning.call(
            "POST",
            f"/plans/{ids['plan_id']}/suggested-changes/x/dismiss",
            json_body={"reason": "not mine"},
            as_=("cm-2", "case_manager"),
        ).status_code
    ]
    assert other in (403, 404)


def test_the_overdue_review_counts_the_suggestions_it_must_decide(planning: PlanningApi) -> None:
    ids = _active_plan(planning)
    _reassessed(planning, ids, ["income", "relationships"])
    with planning.runtime.unit_of_work() as uow:
        uow.session.execute(update(Review).values(due_on=date.today() - timedelta(days=1)))
    [review] = planning.call("GET", "/reviews/overdue").json["items"]
    assert review["plan_id"] == ids["plan_id"] and review["open_suggested_changes"] == 2
