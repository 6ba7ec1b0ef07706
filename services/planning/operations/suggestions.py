"""Suggested changes: a reassessment of an approved plan is not ignored. Each domain newly rated
unmet need that no goal covers is kept on the plan, shown with it, and decided at its next
review: taken up as a draft goal, or dismissed with a reason. The review cannot be approved
while one is still open."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from services.planning import domain
from services.planning.models import AUDIT, Plan, SuggestedChange, new_id
from services.planning.operations.access import editable_plan, plan_version, working_version
from shared.db import insert_ignoring_duplicates
from shared.errors import Conflict, NotFound
from shared.identity import Principal
from shared.unit_of_work import UnitOfWork

Status = domain.SuggestionStatus


def open_suggestions(uow: UnitOfWork, plan: Plan) -> list[SuggestedChange]:
    return list(
        uow.session.scalars(
            select(SuggestedChange)
            .where(SuggestedChange.plan_id == plan.id, SuggestedChange.status == Status.OPEN)
            .order_by(SuggestedChange.suggested_at, SuggestedChange.domain)
        )
    )


def suggest_from_assessment(
    uow: UnitOfWork, plan: Plan, data: Mapping[str, Any], now: datetime
) -> int:
    """The approved plan stays as agreed; what the assessment adds waits for its review. Keyed
    by plan, assessment and domain, so the same assessment suggests each domain once."""
    assert plan.approved_version is not None
    agreed = plan_version(uow, plan, plan.approved_version).content
    waiting = {row.domain for row in open_suggestions(uow, plan)}
    domains = domain.new_unmet_needs(agreed, data["unmet_needs"], waiting)
    if not domains:
        return 0
    created = insert_ignoring_duplicates(
        uow.session,
        SuggestedChange.__table__,
        [
            {
                "id": new_id(),
                "plan_id": plan.id,
                "assessment_id": data["assessment_id"],
                "domain": need,
                "kind": "new_unmet_need",
                "status": str(Status.OPEN),
                "suggested_at": now,
            }
            for need in domains
        ],
        SuggestedChange.__table__.c.id,
    )
    return len(created)


def _open(uow: UnitOfWork, plan: Plan, suggestion_id: str) -> SuggestedChange:
    suggestion = uow.session.get(SuggestedChange, suggestion_id, with_for_update=True)
    if suggestion is None or suggestion.plan_id != plan.id:
        raise NotFound(f"Plan {plan.id} has no suggested change {suggestion_id}.")
    if suggestion.status != Status.OPEN:
        raise Conflict(
            f"This suggested change was already decided ({suggestion.status}).",
            current_status=suggestion.status,
        )
    return suggestion


def take_up(
    uow: UnitOfWork, actor: Principal, plan_id: str, suggestion_id: str, now: datetime
) -> Plan:
    """At the review: the suggestion becomes a draft goal in the new version (written with the
    client like any proposed goal). An active plan must start its review first (409)."""
    plan = editable_plan(uow, actor, plan_id)
    suggestion = _open(uow, plan, suggestion_id)
    version = working_version(uow, plan, actor.sub)
    version.content = domain.propose_goals(version.content, [suggestion.domain], new_id)
    goal = domain.goal_for_domain(version.content, suggestion.domain)
    assert goal is not None
    suggestion.status, suggestion.goal_id = str(Status.TAKEN_UP), goal["id"]
    suggestion.decided_at, suggestion.decided_by = now, actor.sub
    AUDIT.record(
        uow.session,
        actor,
        "take_up_suggestion",
        "plan",
        plan.id,
        plan.client_id,
        suggestion_id=suggestion.id,
        domain=suggestion.domain,
    )
    return plan


def dismiss(
    uow: UnitOfWork,
    actor: Principal,
    plan_id: str,
    suggestion_id: str,
    reason: str,
    now: datetime,
) -> Plan:
    """At the review: the need is set aside, with the reason on the record."""
    plan = editable_plan(uow, actor, plan_id)
    if not domain.is_editable(plan.status):
        raise Conflict(
            f"Suggested changes are decided at the plan's review; this plan is {plan.status}.",
            current_status=plan.status,
            allowed=domain.allowed_transitions(plan.status),
        )
    suggestion = _open(uow, plan, suggestion_id)
    suggestion.status, suggestion.dismiss_reason = str(Status.DISMISSED), reason
    suggestion.decided_at, suggestion.decided_by = now, actor.sub
    AUDIT.record(
        uow.session,
        actor,
        "dismiss_suggestion",
        "plan",
        plan.id,
        plan.client_id,
        suggestion_id=suggestion.id,
        domain=suggestion.domain,
    )
    return plan


def refuse_open_suggestions(uow: UnitOfWork, plan: Plan) -> None:
    """A review is not finished while a suggested change is undecided."""
    waiting = open_suggestions(uow, plan)
    if waiting:
        raise Conflict(
            "Decide every suggested change before approving the review: take it up or dismiss "
            "it with a reason.",
            open_suggestions=[{"id": row.id, "domain": row.domain} for row in waiting],
        )
