"""Plans drafted from intake's events, written with the client, approved, reviewed and closed."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import MetaData, event, update

from services.planning import operations
from services.planning.models import Review, SuggestedChange
from shared.audit import AuditTrail
from shared.clock import Clock
from tests.planning.conftest import COMPLETE_SAFETY_PLAN, OWNER, SUPERVISOR, PlanningApi


def test_assessment_drafts_a_plan_with_one_proposed_goal_per_unmet_need(
    planning: PlanningApi,
) -> None:
    ids = planning.new_episode(unmet=["housing", "income", "mental_state"])
    plan = planning.plan(ids["plan_id"])
    assert (
        plan["status"] == "draft"
        and plan["owner_id"] == OWNER
        and plan["supervisor_id"] == SUPERVISOR
    )
    goals = plan["working_version"]["content"]["goals"]
    assert [(g["domain"], g["status"]) for g in goals] == [
        ("housing", "proposed"),
        ("income", "proposed"),
        ("mental_state", "proposed"),
    ]
    [created] = planning.events("plan.created.v1")
    assert created["data"]["plan_id"] == ids["plan_id"] and created["data"]["owner_id"] == OWNER


def test_the_same_assessment_twice_makes_one_plan_and_a_later_one_adds_only_new_needs(
    planning: PlanningApi,
) -> None:
    ids = planning.new_episode(unmet=["housing"])
    data = {
        "client_id": ids["client_id"],
        "client_reference": "C-1001",
        "episode_id": ids["episode_id"],
        "assessment_id": str(uuid.uuid4()),
        "version": 2,
        "completed_at": datetime.now(UTC),
        "unmet_needs": ["housing", "income"],
        "risk_level": "none",
    }
    planning.deliver("intake.assessment.completed.v1", data)
    planning.deliver("intake.assessment.completed.v1", data)
    plans = planning.call(
        "GET", "/plans", as_=("admin-1", "admin"), query={"client_id": ids["client_id"]}
    ).json["items"]
    assert len(plans) == 1
    assert [g["domain"] for g in plans[0]["working_version"]["content"]["goals"]] == [
        "housing",
        "income",
    ]
    assert len(planning.events("plan.created.v1")) == 1


def test_assignment_after_the_plan_sets_its_owner(planning: PlanningApi) -> None:
    ids = planning.new_episode(owner=None)
    assert planning.plan(ids["plan_id"])["owner_id"] is None
    planning.deliver(
        "intake.case.assigned.v1",
        {
            **{k: ids[k] for k in ("client_id", "client_reference", "episode_id")},
            "case_manager_id": "cm-7",
            "supervisor_id": "sup-7",
            "assigned_by": "sup-7",
            "method": "explicit",
            "over_cap": False,
            "assigned_at": datetime.now(UTC),
        },
    )
    assert planning.plan(ids["plan_id"])["owner_id"] == "cm-7"


def test_approval_waits_for_goals_written_with_the_client_and_records_agreement(
    planning: PlanningApi,
) -> None:
    ids = planning.new_episode(unmet=["housing"])
    refused = planning.approve(ids["plan_id"])
    assert refused.status_code == 409 and any(
        "housing" in reason for reason in refused.json["reasons"]
    )
    planning.write_goals(ids["plan_id"])
    disagreed = planning.call(
        "POST",
        f"/plans/{ids['plan_id']}/approve",
        json_body={"client_agreed": False, "method": "verbal", "present": ["client"]},
    )
    assert disagreed.status_code == 422
    approved = planning.approve(ids["plan_id"])
    assert approved.status_code == 200, approved.json
    body = approved.json
    assert body["status"] == "active" and body["approved_version"] == 1
    assert body["working_version"]["agreement"]["method"] == "signed"
    assert body["working_version"]["content"]["goals"][0]["status"] == "agreed"
    assert body["next_review_due"] == (date.today() + timedelta(days=90)).isoformat()
    [event] = planning.events("plan.approved.v1")
    assert event["data"]["version"] == 1 and "housing goal" not in str(event)


@pytest.mark.parametrize(
    ("zone", "approved_on"),
    [
        ("America/Chicago", date(2026, 11, 29)),  # 21:30 on the 29th in Chicago
        ("UTC", date(2026, 11, 30)),
        ("Pacific/Kiritimati", date(2026, 11, 30)),  # 17:30 on the 30th (UTC+14)
    ],
)
def test_the_next_review_is_dated_from_the_agency_s_day_of_the_approval(
    planning: PlanningApi, monkeypatch: pytest.MonkeyPatch, zone: str, approved_on: date
) -> None:
    """03:30 UTC on 30 November is still the 29th in Chicago: the review falls 90 days after
    the agency's day, not after the UTC day that has already begun."""
    monkeypatch.setenv("CASEHUB_TIMEZONE", zone)
    monkeypatch.setattr(
        planning.runtime, "clock", Clock(fixed=datetime(2026, 11, 30, 3, 30, tzinfo=UTC))
    )
    ids = planning.new_episode(unmet=["housing"])
    planning.write_goals(ids["plan_id"])
    approved = planning.approve(ids["plan_id"])
    assert approved.status_code == 200, approved.json
    due = (approved_on + timedelta(days=90)).isoformat()
    assert approved.json["next_review_due"] == due
    [event] = planning.events("plan.approved.v1")
    assert event["data"]["next_review_due"] == due
    assert event["data"]["approved_at"].startswith("2026-11-30T03:30:00")


ACTIONS = {"approve": "active", "start-review": "under_review", "close": "closed"}
ALLOWED = {
    "draft": ["active", "closed"],
    "active": ["closed", "under_review"],
    "under_review": ["active", "closed"],
    "closed": [],
}


def _plan_in(planning: PlanningApi, status: str) -> str:
    plan_id = planning.new_episode(unmet=["housing"])["plan_id"]
    planning.write_goals(plan_id)
    if status in ("active", "under_review"):
        assert planning.approve(plan_id).status_code == 200
    if status == "under_review":
        assert planning.call("POST", f"/plans/{plan_id}/start-review").status_code == 200
    if status == "closed":
        assert (
            planning.call("POST", f"/plans/{plan_id}/close", json_body={"reason": "x"}).status_code
            == 200
        )
    assert planning.plan(plan_id)["status"] == status
    return plan_id


@pytest.mark.parametrize("status", list(ALLOWED))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_lifecycle_move_follows_the_transition_table(
    planning: PlanningApi, status: str, action: str
) -> None:
    plan_id = _plan_in(planning, status)
    body = {
        "approve": {"client_agreed": True, "method": "verbal", "present": ["client"]},
        "close": {"reason": "test"},
    }.get(action)
    response = planning.call("POST", f"/plans/{plan_id}/{action}", json_body=body)
    if ACTIONS[action] in ALLOWED[status]:
        assert response.status_code == 200, response.json
        assert response.json["status"] == ACTIONS[action]
    else:
        assert response.status_code == 409
        assert (
            response.json["allowed"] == ALLOWED[status]
            and response.json["current_status"] == status
        )
        assert planning.plan(plan_id)["status"] == status


def test_an_active_plan_never_changes_a_review_makes_a_new_version(planning: PlanningApi) -> None:
    plan_id = _plan_in(planning, "active")
    goal = planning.plan(plan_id)["working_version"]["content"]["goals"][0]
    frozen = planning.call(
        "PATCH", f"/plans/{plan_id}/goals/{goal['id']}", json_body={"measurable_target": "x"}
    )
    assert frozen.status_code == 409 and "under_review" in frozen.json["allowed"]
    planning.call("POST", f"/plans/{plan_id}/start-review")
    changed = planning.call(
        "POST",
        f"/plans/{plan_id}/goals",
        json_body={
            "domain": "income",
            "in_own_words": "Sort out benefits",
            "measurable_target": "Claim made",
            "target_date": "2027-01-31",
        },
    )
    assert changed.status_code == 201 and changed.json["current_version"] == 2
    assert planning.approve(plan_id).status_code == 200
    versions = planning.call("GET", f"/plans/{plan_id}/versions").json["items"]
    assert [(v["number"], v["status"]) for v in versions] == [(1, "superseded"), (2, "approved")]
    assert len(versions[0]["content"]["goals"]) == 1  # version 1 is as it was approved
    diff = planning.call("GET", f"/plans/{plan_id}/compare", query={"older": 1, "newer": 2}).json
    assert len(diff["goals_added"]) == 1 and diff["goals_removed"] == []
    [reviewed] = planning.events("plan.reviewed.v1")
    assert reviewed["data"]["version"] == 2


def _flag_high_risk(planning: PlanningApi, ids: dict[str, Any], reason: str) -> None:
    planning.deliver(
        "intake.risk.flagged.v1",
        {
            "client_id": ids["client_id"],
            "client_reference": "C-1001",
            "episode_id": ids["episode_id"],
            "flag_id": str(uuid.uuid4()),
            "assessment_id": str(uuid.uuid4()),
            "level": "high",
            "reasons": [reason],
            "flagged_at": datetime.now(UTC),
        },
    )


def test_high_risk_requires_a_safety_plan_and_brings_the_review_forward(
    planning: PlanningApi,
) -> None:
    plan_id = _plan_in(planning, "active")
    ids = planning.plan(plan_id)
    _flag_high_risk(planning, ids, "C-SSRS Q4")
    plan = planning.plan(plan_id)
    assert plan["safety_plan_required"] is True
    assert plan["next_review_due"] == (date.today() + timedelta(days=7)).isoformat()
    [moved] = planning.events("review.scheduled.v1")  # intake's caseload shows the new date
    assert moved["data"]["due_on"] == plan["next_review_due"]
    assert moved["data"]["episode_id"] == ids["episode_id"] and moved["data"]["reason"] == "crisis"
    _flag_high_risk(planning, ids, "C-SSRS Q5")
    assert len(planning.events("review.scheduled.v1")) == 1  # the date did not move again
    planning.call("POST", f"/plans/{plan_id}/start-review")
    refused = planning.approve(plan_id)
    assert refused.status_code == 409 and any(
        "safety plan" in r.lower() for r in refused.json["reasons"]
    )
    assert (
        planning.call(
            "PUT", f"/plans/{plan_id}/safety-plan", json_body=COMPLETE_SAFETY_PLAN
        ).status_code
        == 200
    )

    def open_sources() -> list[str]:
        return sorted(t["source"] for t in planning.call("GET", "/me/worklist").json["items"])

    assert "safety_plan_missing" in open_sources()
    assert planning.approve(plan_id).status_code == 200
    # the safety plan is agreed: its task closed itself, saying why; the follow-ups stay
    assert "safety_plan_missing" not in open_sources()
    assert "crisis_follow_up" in open_sources()


def test_moderate_risk_changes_nothing(planning: PlanningApi) -> None:
    plan_id = _plan_in(planning, "active")
    ids = planning.plan(plan_id)
    planning.deliver(
        "intake.risk.flagged.v1",
        {
            "client_id": ids["client_id"],
            "client_reference": "C-1001",
            "episode_id": ids["episode_id"],
            "flag_id": str(uuid.uuid4()),
            "assessment_id": str(uuid.uuid4()),
            "level": "moderate",
            "reasons": ["PHQ-9 item 9"],
            "flagged_at": datetime.now(UTC),
        },
    )
    assert planning.plan(plan_id)["safety_plan_required"] is False
    assert planning.events("review.scheduled.v1") == []


def test_a_referral_strategy_is_requested_once_when_the_plan_is_approved(
    planning: PlanningApi,
) -> None:
    plan_id = planning.new_episode(unmet=["housing"])["plan_id"]
    planning.write_goals(plan_id)
    goal_id = planning.plan(plan_id)["working_version"]["content"]["goals"][0]["id"]
    wrong = planning.call(
        "POST",
        f"/plans/{plan_id}/goals/{goal_id}/strategies",
        json_body={"description": "Refer", "type": "referral", "responsible": "client"},
    )
    assert wrong.status_code == 422
    added = planning.call(
        "POST",
        f"/plans/{plan_id}/goals/{goal_id}/strategies",
        json_body={
            "description": "Tenancy support",
            "type": "referral",
            "responsible": "partner_service",
            "partner_service_id": "housing-first",
        },
    )
    assert added.status_code == 201
    assert planning.events("strategy.referral_requested.v1") == []
    planning.approve(plan_id)
    planning.call("POST", f"/plans/{plan_id}/start-review")
    planning.approve(plan_id)
    [requested] = planning.events("strategy.referral_requested.v1")
    assert (
        requested["data"]["partner_service_id"] == "housing-first"
        and requested["data"]["domain"] == "housing"
    )


def test_progress_notes_and_goal_achieved_once(planning: PlanningApi) -> None:
    plan_id = _plan_in(planning, "active")
    goal_id = planning.plan(plan_id)["working_version"]["content"]["goals"][0]["id"]
    path = f"/plans/{plan_id}/goals/{goal_id}/progress-notes"
    assert (
        planning.call("POST", path, json_body={"note": "Viewing", "attainment": 0}).status_code
        == 201
    )
    assert (
        planning.call(
            "POST", path, json_body={"note": "Keys!", "attainment": 2, "achieved": True}
        ).status_code
        == 201
    )
    assert (
        planning.call(
            "POST", path, json_body={"note": "Settled", "attainment": 2, "achieved": True}
        ).status_code
        == 201
    )
    assert planning.call("POST", path, json_body={"note": "x", "attainment": 5}).status_code == 422
    first = planning.call("GET", path, query={"limit": 2}).json
    rest = planning.call("GET", path, query={"limit": 2, "cursor": first["next_cursor"]}).json
    notes = [note["note"] for note in first["items"] + rest["items"]]
    assert notes == ["Viewing", "Keys!", "Settled"] and rest["next_cursor"] is None
    [achieved] = planning.events("goal.achieved.v1")
    assert achieved["data"]["goal_id"] == goal_id and "Keys" not in str(achieved)


def test_discharge_closes_the_plan_and_cancels_its_reviews(planning: PlanningApi) -> None:
    plan_id = _plan_in(planning, "active")
    ids = planning.plan(plan_id)
    discharge = {
        "client_id": ids["client_id"],
        "client_reference": "C-1001",
        "episode_id": ids["episode_id"],
        "discharged_at": datetime.now(UTC),
        "reason_code": "goals_met",
    }
    planning.deliver("intake.client.discharged.v1", discharge)
    planning.deliver("intake.client.discharged.v1", discharge)
    plan = planning.plan(plan_id)
    assert plan["status"] == "closed" and plan["next_review_due"] is None
    assert len(planning.events("plan.closed.v1")) == 1


def _make_due(planning: PlanningApi, days_ago: int) -> None:
    with planning.runtime.unit_of_work() as uow:
        uow.session.execute(update(Review).values(due_on=date.today() - timedelta(days=days_ago)))


def test_review_due_is_announced_exactly_once_with_two_workers(planning: PlanningApi) -> None:
    plan_ids = [_plan_in(planning, "active") for _ in range(6)]
    _make_due(planning, 0)
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def scheduler() -> None:
        barrier.wait()
        for _ in range(3):
            with planning.runtime.unit_of_work() as uow:
                counts.append(operations.announce_due_reviews(uow, date.today()))

    workers = [threading.Thread(target=scheduler) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    due = planning.events("review.due.v1")
    assert sum(counts) == 6 and len(due) == 6
    assert sorted(e["data"]["plan_id"] for e in due) == sorted(plan_ids)
    assert all(e["data"]["case_manager_id"] == OWNER for e in due)


def test_overdue_reviews_are_listed_for_the_owner_and_the_team(planning: PlanningApi) -> None:
    plan_id = _plan_in(planning, "active")
    _make_due(planning, 3)
    mine = planning.call("GET", "/reviews/overdue").json
    assert [r["plan_id"] for r in mine["items"]] == [plan_id] and mine["next_cursor"] is None
    assert planning.call("GET", "/reviews/overdue", as_=(SUPERVISOR, "supervisor")).json == mine
    assert planning.call("GET", "/reviews/overdue", as_=("cm-2", "case_manager")).json == {
        "items": [],
        "next_cursor": None,
    }
    assert (
        planning.call("GET", "/reviews/overdue", as_=("iw-1", "intake_worker")).status_code == 403
    )
    # Each answer has its audit row, in the chain (an audited read: no transaction of its own),
    # and none for the refused one.
    trail = planning.call("GET", "/audit", as_=("admin-1", "admin"), query={"limit": 200}).json
    reads = [
        (e["actor"], e["detail"].get("count"))
        for e in trail["items"]
        if e["entity"] == "overdue_reviews"
    ]
    assert reads == [(OWNER, 1), (SUPERVISOR, 1), ("cm-2", 0)]
    with planning.runtime.database.read_session() as session:
        assert AuditTrail(MetaData()).verify(session).intact


def test_an_overdue_review_counts_its_plans_open_suggested_changes(
    planning: PlanningApi,
) -> None:
    """One statement for the page: the counts come with the reviews, each its own plan's."""
    first, second = _plan_in(planning, "active"), _plan_in(planning, "active")
    _make_due(planning, 3)
    with planning.runtime.unit_of_work() as uow:
        for plan_id, domains in ((first, ["housing", "income"]), (second, ["work"])):
            for name in domains:
                uow.session.add(
                    SuggestedChange(plan_id=plan_id, assessment_id=str(uuid.uuid4()), domain=name)
                )
        uow.session.add(
            SuggestedChange(
                plan_id=second, assessment_id=str(uuid.uuid4()), domain="rights", status="dismissed"
            )
        )
    listed = planning.call("GET", "/reviews/overdue").json["items"]
    assert {r["plan_id"]: r["open_suggested_changes"] for r in listed} == {first: 2, second: 1}


def test_a_list_of_plans_shows_each_as_it_is_read_alone_in_as_many_statements_for_any_count(
    planning: PlanningApi,
) -> None:
    """Versions, next reviews, referrals' state and suggested changes come for the whole page
    at once: the same answer as each plan read alone, and no statement more for more plans."""
    drafted = _plan_in(planning, "draft")
    approved = _plan_in(planning, "active")
    with planning.runtime.unit_of_work() as uow:
        uow.session.add(SuggestedChange(plan_id=approved, assessment_id="a-1", domain="income"))
        uow.session.add(
            SuggestedChange(
                plan_id=approved, assessment_id="a-2", domain="work", status="dismissed"
            )
        )
    statements: list[str] = []

    def counted(*args: Any) -> None:
        # Each plan read has its audit row: on SQLite an insert each (PostgreSQL chains them
        # in one statement), the trail's own cost, not the plans'.
        if "audit" not in args[2]:
            statements.append(args[2])

    engine = planning.runtime.database.engine

    def listed() -> tuple[list[dict[str, Any]], int]:
        statements.clear()
        event.listen(engine, "before_cursor_execute", counted)
        try:
            items = planning.call("GET", "/plans", query={"limit": 50}).json["items"]
        finally:
            event.remove(engine, "before_cursor_execute", counted)
        return items, len(statements)

    two, with_two = listed()
    assert {p["id"] for p in two} == {drafted, approved}
    for shown in two:
        assert shown == planning.plan(shown["id"], as_=(OWNER, "case_manager"))
    by_id = {p["id"]: p for p in two}
    assert [s["status"] for s in by_id[approved]["suggested_changes"]] == ["open", "dismissed"]
    assert by_id[approved]["next_review_due"] is not None
    assert by_id[drafted]["suggested_changes"] == []
    _plan_in(planning, "active")
    _plan_in(planning, "closed")
    four, with_four = listed()
    assert len(four) == 4 and with_four == with_two
