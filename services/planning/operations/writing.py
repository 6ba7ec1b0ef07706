"""Writing the plan with the client: goals, strategies and the safety plan, on the working draft."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from services.planning import domain
from services.planning.models import AUDIT, Plan, PlanVersion, new_id
from services.planning.operations.access import editable_plan, working_version
from shared.errors import NotFound, Unprocessable
from shared.identity import Principal
from shared.unit_of_work import UnitOfWork


def _change_content(
    uow: UnitOfWork,
    actor: Principal,
    plan_id: str,
    change: str,
    edit: Callable[[dict[str, Any]], None],
) -> tuple[Plan, PlanVersion]:
    plan = editable_plan(uow, actor, plan_id)
    version = working_version(uow, plan, actor.sub)
    content = copy.deepcopy(version.content)
    edit(content)
    version.content = content
    uow.session.flush()
    AUDIT.record(
        uow.session, actor, change, "plan", plan.id, plan.client_id, version=version.number
    )
    return plan, version


def goal_in(content: Mapping[str, Any], goal_id: str) -> dict[str, Any]:
    goal = next((goal for goal in content["goals"] if goal["id"] == goal_id), None)
    if goal is None:
        raise NotFound(f"The plan has no goal {goal_id}.")
    return goal


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def add_goal(
    uow: UnitOfWork, actor: Principal, plan_id: str, goal: Mapping[str, Any]
) -> tuple[Plan, PlanVersion, str]:
    goal_id = new_id()

    def edit(content: dict[str, Any]) -> None:
        content["goals"].append(
            {
                "id": goal_id,
                "domain": goal["domain"],
                "in_own_words": goal["in_own_words"],
                "measurable_target": goal["measurable_target"],
                "target_date": _iso(goal.get("target_date")),
                "status": str(domain.GoalStatus.PROPOSED),
                "strategies": [],
            }
        )

    plan, version = _change_content(uow, actor, plan_id, "add_goal", edit)
    return plan, version, goal_id


def update_goal(
    uow: UnitOfWork, actor: Principal, plan_id: str, goal_id: str, changes: Mapping[str, Any]
) -> tuple[Plan, PlanVersion]:
    def edit(content: dict[str, Any]) -> None:
        goal = goal_in(content, goal_id)
        for field in ("in_own_words", "measurable_target", "status"):
            if field in changes:
                goal[field] = str(changes[field])
        if "target_date" in changes:
            goal["target_date"] = _iso(changes["target_date"])

    return _change_content(uow, actor, plan_id, "update_goal", edit)


def remove_goal(
    uow: UnitOfWork, actor: Principal, plan_id: str, goal_id: str
) -> tuple[Plan, PlanVersion]:
    def edit(content: dict[str, Any]) -> None:
        content["goals"].remove(goal_in(content, goal_id))

    return _change_content(uow, actor, plan_id, "remove_goal", edit)


def add_strategy(
    uow: UnitOfWork, actor: Principal, plan_id: str, goal_id: str, strategy: Mapping[str, Any]
) -> tuple[Plan, PlanVersion, str]:
    strategy_id = new_id()
    if (
        strategy["type"] == domain.StrategyType.REFERRAL
        and strategy["responsible"] != domain.Responsible.PARTNER_SERVICE
    ):
        raise Unprocessable(
            "responsible", "a referral strategy is carried out by a partner_service"
        )

    def edit(content: dict[str, Any]) -> None:
        goal_in(content, goal_id)["strategies"].append(
            {
                "id": strategy_id,
                "description": strategy["description"],
                "type": str(strategy["type"]),
                "responsible": str(strategy["responsible"]),
                "due_by": _iso(strategy.get("due_by")),
                "partner_service_id": strategy.get("partner_service_id"),
            }
        )

    plan, version = _change_content(uow, actor, plan_id, "add_strategy", edit)
    return plan, version, strategy_id


def remove_strategy(
    uow: UnitOfWork, actor: Principal, plan_id: str, goal_id: str, strategy_id: str
) -> tuple[Plan, PlanVersion]:
    def edit(content: dict[str, Any]) -> None:
        strategies = goal_in(content, goal_id)["strategies"]
        strategy = next((s for s in strategies if s["id"] == strategy_id), None)
        if strategy is None:
            raise NotFound(f"The goal has no strategy {strategy_id}.")
        strategies.remove(strategy)

    return _change_content(uow, actor, plan_id, "remove_strategy", edit)


def set_safety_plan(
    uow: UnitOfWork, actor: Principal, plan_id: str, safety_plan: Mapping[str, list[str]]
) -> tuple[Plan, PlanVersion]:
    def edit(content: dict[str, Any]) -> None:
        content["safety_plan"] = {
            section: list(safety_plan.get(section, [])) for section in domain.SAFETY_PLAN_SECTIONS
        }

    return _change_content(uow, actor, plan_id, "set_safety_plan", edit)
