"""People-facing names for what the APIs answer in ids and internal names: a plan comparison's
goals and strategies (by their words in the versions compared), and a report's case managers,
partners, discharge reasons and metrics. Plain functions, no Flask; anything not found keeps
the API's own value, so nothing silently disappears."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from services.web.screens import DISCHARGE_REASONS, label

#: How a comparison says which part of a goal changed.
GOAL_FIELDS = {
    "domain": "life domain",
    "in_own_words": "the client's words",
    "measurable_target": "target",
    "target_date": "target date",
    "status": "status",
}
#: The reporting service's figures it does not compute yet, as a report names them.
METRICS = {
    "assignment_to_first_contact": "days from assignment to the first contact",
    "contacts_by_mode": "contacts by mode",
    "hours_of_direct_service": "hours of direct service",
}


def goal_name(goal: Mapping[str, Any]) -> str:
    """``Housing: “A place of my own”`` (the domain alone before the client's words exist)."""
    words = (goal.get("in_own_words") or "").strip()
    domain = label(goal.get("domain"))
    return f"{domain}: “{words}”" if words else domain or "A goal"


def _names(versions: Iterable[Mapping[str, Any]]) -> tuple[dict[str, str], dict[str, str]]:
    """Each goal's and strategy's name by id, from every version (a removed goal is named as
    it was before it went; a later version's words win for one in both)."""
    goals: dict[str, str] = {}
    strategies: dict[str, str] = {}
    ordered = sorted(versions, key=lambda version: int(version.get("number") or 0))
    for version in ordered:
        for goal in (version.get("content") or {}).get("goals") or []:
            goals[str(goal.get("id"))] = goal_name(goal)
            for strategy in goal.get("strategies") or []:
                words = (strategy.get("description") or "").strip() or "A strategy"
                strategies[str(strategy.get("id"))] = f"{words} (for {label(goal.get('domain'))})"
    return goals, strategies


def comparison_lines(
    comparison: Mapping[str, Any], versions: Iterable[Mapping[str, Any]]
) -> dict[str, list[str]]:
    """What changed between two versions in words: goals and strategies by name, a changed
    goal with what changed in it."""
    goals, strategies = _names(versions)

    def goal(goal_id: Any) -> str:
        return goals.get(str(goal_id), "A goal no longer in any version")

    def strategy(strategy_id: Any) -> str:
        return strategies.get(str(strategy_id), "A strategy no longer in any version")

    changed = []
    for change in comparison.get("goals_changed") or []:
        parts = [GOAL_FIELDS.get(f, label(f).lower()) for f in change.get("fields") or []]
        changed.append(f"{goal(change.get('id'))}: {', '.join(parts) or 'changed'}")
    return {
        "goals_added": [goal(i) for i in comparison.get("goals_added") or []],
        "goals_removed": [goal(i) for i in comparison.get("goals_removed") or []],
        "goals_changed": changed,
        "strategies_added": [strategy(i) for i in comparison.get("strategies_added") or []],
        "strategies_removed": [strategy(i) for i in comparison.get("strategies_removed") or []],
    }


def discharge_reason(code: str) -> str:
    return dict(DISCHARGE_REASONS).get(code) or label(code)


def metric(name: str) -> str:
    return METRICS.get(name) or label(name).lower()


def people_names(managers: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Case managers' display names by id (from intake's team view)."""
    return {str(m["id"]): str(m.get("display_name") or m["id"]) for m in managers}


def organisation_names(organisations: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Partner organisations' names by id (from the referrals directory)."""
    return {str(o["id"]): str(o.get("name") or o["id"]) for o in organisations}
