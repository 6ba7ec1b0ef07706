"""Planning rules as plain Python: the plan status machine, goals drafted from unmet needs,
the safety plan, approval, version comparison and review dates.

No framework imports here, so every rule is tested in milliseconds and the API, the models and
the event handlers all apply the same rules. Plan content is a JSON-able dict (the snapshot kept
with each plan version); every function here returns a new one and never changes its input.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import IntEnum, StrEnum
from types import MappingProxyType
from typing import Any

# --- Plan status --------------------------------------------------------------------------------


class PlanStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    UNDER_REVIEW = "under_review"
    CLOSED = "closed"


#: from -> {to: action name}. The one table of allowed moves; read-only so no caller can widen it.
TRANSITIONS: Mapping[PlanStatus, Mapping[PlanStatus, str]] = MappingProxyType(
    {
        PlanStatus.DRAFT: MappingProxyType(
            {PlanStatus.ACTIVE: "approve", PlanStatus.CLOSED: "close"}
        ),
        PlanStatus.ACTIVE: MappingProxyType(
            {PlanStatus.UNDER_REVIEW: "start_review", PlanStatus.CLOSED: "close"}
        ),
        PlanStatus.UNDER_REVIEW: MappingProxyType(
            {PlanStatus.ACTIVE: "approve", PlanStatus.CLOSED: "close"}
        ),
        PlanStatus.CLOSED: MappingProxyType({}),
    }
)

_EDITABLE: frozenset[PlanStatus] = frozenset({PlanStatus.DRAFT, PlanStatus.UNDER_REVIEW})


def status_label(value: str) -> str:
    return value.replace("_", " ")


def _with_article(words: str) -> str:
    return f"{'An' if words[:1] in 'aeiou' else 'A'} {words}"


class IllegalTransition(Exception):
    """The plan cannot move from its status to the one asked for; carries the statuses it could
    move to, so the 409 can name them."""

    def __init__(self, current: PlanStatus | str, requested: PlanStatus | str) -> None:
        super().__init__(current, requested)
        self.current = PlanStatus(current)
        self.requested = PlanStatus(requested)
        self.allowed = allowed_transitions(self.current)

    def __str__(self) -> str:
        current = status_label(self.current)
        if self.requested is self.current:
            refused = f"The plan is already {current}"
        else:
            refused = f"{_with_article(current)} plan cannot become {status_label(self.requested)}"
        return f"{refused}; allowed from {current}: {', '.join(self.allowed) or 'none'}"


def allowed_transitions(current: PlanStatus | str) -> list[str]:
    """The statuses a plan may move to next, as sorted values (what a client would send)."""
    return sorted(status.value for status in TRANSITIONS[PlanStatus(current)])


def transition(current: PlanStatus | str, requested: PlanStatus | str) -> PlanStatus:
    """The new status, or IllegalTransition. Staying put is refused too: a repeated "approve"
    must not silently make a second version look approved."""
    status, target = PlanStatus(current), PlanStatus(requested)
    if target not in TRANSITIONS[status]:
        raise IllegalTransition(status, target)
    return target


def is_editable(status: PlanStatus | str) -> bool:
    """Only draft and under-review plans change: an active plan is what the client agreed to, so
    changing it means starting a review, which makes a new version."""
    return PlanStatus(status) in _EDITABLE


# --- Goals and strategies -----------------------------------------------------------------------


class Responsible(StrEnum):
    CLIENT = "client"
    CASE_MANAGER = "case_manager"
    NOMINATED_PERSON = "nominated_person"
    PARTNER_SERVICE = "partner_service"


class StrategyType(StrEnum):
    ACTION = "action"
    REFERRAL = "referral"


class GoalStatus(StrEnum):
    PROPOSED = "proposed"
    AGREED = "agreed"
    ACHIEVED = "achieved"
    DISCONTINUED = "discontinued"


# --- Safety plan --------------------------------------------------------------------------------

#: The six steps of the Stanley-Brown safety plan, in the order the client works through them.
SAFETY_PLAN_SECTIONS: tuple[str, ...] = (
    "warning_signs",
    "internal_coping_strategies",
    "distraction_people_and_places",
    "people_to_ask_for_help",
    "professionals_and_crisis_lines",
    "making_environment_safe",
)


def _has_entry(entries: object, section: str) -> bool:
    if entries is None:
        return False
    if isinstance(entries, str | bytes) or not isinstance(entries, Sequence):
        raise TypeError(f"safety plan section {section} must be a list of entries")
    return any(isinstance(entry, str) and entry.strip() for entry in entries)


def missing_safety_plan_sections(safety_plan: Mapping[str, Sequence[str]] | None) -> list[str]:
    """The sections still to write, in order. A blank entry does not count: a section that
    says nothing does not help in a crisis. A bare string instead of a list is refused, since
    its characters would otherwise pass for entries."""
    plan = safety_plan or {}
    return [
        section for section in SAFETY_PLAN_SECTIONS if not _has_entry(plan.get(section), section)
    ]


# --- Plan content -------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A deep copy made of dicts and lists only, so the result is JSON-able and shares nothing
    with the caller's data."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def empty_content() -> dict[str, Any]:
    return {"goals": [], "safety_plan": None}


def _copy_content(content: Mapping[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = {**empty_content(), **_plain(content)}
    if copied["goals"] is None:
        copied["goals"] = []
    return copied


def _goals(content: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    return list((content or {}).get("goals") or [])


def _strategies(goal: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(goal.get("strategies") or [])


def propose_goals(
    content: Mapping[str, Any], unmet_needs: Sequence[str], new_id: Callable[[], str]
) -> dict[str, Any]:
    """Adds one proposed goal per unmet need that has no goal yet, in the order given. Any goal
    for the domain counts, even an achieved or discontinued one, so re-drafting after a new
    assessment never brings back a goal the client already closed. The wording and target stay
    empty: they are written with the client, not by us."""
    proposed = _copy_content(content)
    present = {goal.get("domain") for goal in proposed["goals"]}
    for domain in unmet_needs:
        if domain in present:
            continue
        present.add(domain)
        proposed["goals"].append(
            {
                "id": new_id(),
                "domain": domain,
                "in_own_words": "",
                "measurable_target": "",
                "target_date": None,
                "status": GoalStatus.PROPOSED.value,
                "strategies": [],
            }
        )
    return proposed


def agree_goals(content: Mapping[str, Any]) -> dict[str, Any]:
    """On approval the client has agreed every proposed goal; the others keep their status."""
    agreed = _copy_content(content)
    for goal in agreed["goals"]:
        if goal.get("status") == GoalStatus.PROPOSED:
            goal["status"] = GoalStatus.AGREED.value
    return agreed


# --- Approval -----------------------------------------------------------------------------------


class ApprovalRefused(Exception):
    """The plan is not ready for the client's sign-off; every reason is listed at once so the
    case manager can fix them all in one go."""

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__(list(reasons))
        self.reasons = list(reasons)

    def __str__(self) -> str:
        sentences = (r if r.endswith((".", "?", "!")) else f"{r}." for r in self.reasons)
        return "The plan cannot be approved yet: " + " ".join(sentences)


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


_GOAL_ESSENTIALS: tuple[tuple[str, str], ...] = (
    ("in_own_words", "the client's own words"),
    ("measurable_target", "a measurable target"),
    ("target_date", "a target date"),
)


def approval_problems(content: Mapping[str, Any], *, safety_plan_required: bool) -> list[str]:
    """Why approval must wait, in words a case manager can act on; empty means it may go ahead.
    Only proposed goals are checked: agreed ones passed this check when they were agreed."""
    goals = _goals(content)
    if not goals:
        return ["The plan has no goals; add at least one, written with the client."]
    problems: list[str] = []
    for goal in goals:
        if goal.get("status") != GoalStatus.PROPOSED:
            continue
        lacking = [label for field, label in _GOAL_ESSENTIALS if is_blank(goal.get(field))]
        if lacking:
            domain = status_label(str(goal.get("domain") or "unnamed"))
            problems.append(f"The {domain} goal still needs {', '.join(lacking)}.")
    if safety_plan_required:
        missing = missing_safety_plan_sections(content.get("safety_plan"))
        if missing:
            sections = ", ".join(status_label(section) for section in missing)
            problems.append(f"A safety plan is required; sections still to write: {sections}.")
    return problems


def new_referral_strategies(
    previous: Mapping[str, Any] | None, current: Mapping[str, Any]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The referrals to request when ``current`` is approved: referral strategies that were not
    referrals in ``previous`` (new ones, or actions turned into referrals), in plan order.
    Strategies under a discontinued goal are left out, since nobody should be referred for a
    goal the client has given up. Returns copies, never the caller's dicts."""
    already = {
        strategy.get("id")
        for goal in _goals(previous)
        for strategy in _strategies(goal)
        if strategy.get("type") == StrategyType.REFERRAL
    }
    return [
        (_plain(goal), _plain(strategy))
        for goal in _goals(current)
        if goal.get("status") != GoalStatus.DISCONTINUED
        for strategy in _strategies(goal)
        if strategy.get("type") == StrategyType.REFERRAL and strategy.get("id") not in already
    ]


_GOAL_FIELDS: tuple[str, ...] = (
    "domain",
    "in_own_words",
    "measurable_target",
    "target_date",
    "status",
)


def _changed_fields(older: Mapping[str, Any], newer: Mapping[str, Any]) -> list[str]:
    extra = sorted((set(older) | set(newer)) - set(_GOAL_FIELDS) - {"id", "strategies"})
    return [field for field in (*_GOAL_FIELDS, *extra) if older.get(field) != newer.get(field)]


def compare_versions(older: Mapping[str, Any], newer: Mapping[str, Any]) -> dict[str, Any]:
    """What changed between two versions, for the review record and the client's copy. Goals
    and strategies are matched by id, so moving a strategy between goals is not a change.
    A missing safety plan and an empty one are the same."""
    old_goals = {goal.get("id"): goal for goal in _goals(older)}
    new_goals = {goal.get("id"): goal for goal in _goals(newer)}
    old_strategies = [s.get("id") for goal in _goals(older) for s in _strategies(goal)]
    new_strategies = [s.get("id") for goal in _goals(newer) for s in _strategies(goal)]
    set_of_old, set_of_new = set(old_strategies), set(new_strategies)
    changed = [
        {"id": goal_id, "fields": fields}
        for goal_id, goal in new_goals.items()
        if goal_id in old_goals and (fields := _changed_fields(old_goals[goal_id], goal))
    ]
    return {
        "goals_added": [goal_id for goal_id in new_goals if goal_id not in old_goals],
        "goals_removed": [goal_id for goal_id in old_goals if goal_id not in new_goals],
        "goals_changed": changed,
        "strategies_added": [s for s in new_strategies if s not in set_of_old],
        "strategies_removed": [s for s in old_strategies if s not in set_of_new],
        "safety_plan_changed": _plain(older.get("safety_plan") or {})
        != _plain(newer.get("safety_plan") or {}),
    }


# --- Reviews ------------------------------------------------------------------------------------

DEFAULT_REVIEW_INTERVAL_DAYS = 90
CRISIS_REVIEW_DAYS = 7


def _day(value: object, name: str) -> date:
    """Days only: a datetime would carry a time zone question (which day?) into a date rule."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{name} must be a date, not {type(value).__name__}")
    return value


def next_review_after_approval(
    approved_on: date, interval_days: int = DEFAULT_REVIEW_INTERVAL_DAYS
) -> date:
    """Each approved version is reviewed a fixed interval later (90 days unless set)."""
    if interval_days < 1:
        raise ValueError(f"interval_days must be at least 1, got {interval_days}")
    return _day(approved_on, "approved_on") + timedelta(days=interval_days)


def review_after_crisis(
    flagged_on: date, current_due: date | None, crisis_days: int = CRISIS_REVIEW_DAYS
) -> date:
    """A crisis brings the review forward to within ``crisis_days``, but never pushes a review
    that was already due sooner (or is overdue) later."""
    if crisis_days < 0:
        raise ValueError(f"crisis_days cannot be negative, got {crisis_days}")
    crisis_due = _day(flagged_on, "flagged_on") + timedelta(days=crisis_days)
    if current_due is None:
        return crisis_due
    return min(_day(current_due, "current_due"), crisis_due)


def is_overdue(due_on: date, today: date) -> bool:
    """Due today is not yet overdue; the day after is."""
    return _day(due_on, "due_on") < _day(today, "today")


# --- Progress -----------------------------------------------------------------------------------


class Attainment(IntEnum):
    """Goal Attainment Scaling: -2 to +2 around the expected outcome (0), so scores average."""

    MUCH_LESS_THAN_EXPECTED = -2
    LESS_THAN_EXPECTED = -1
    EXPECTED = 0
    MORE_THAN_EXPECTED = 1
    MUCH_MORE_THAN_EXPECTED = 2


# --- Statuses of versions and reviews ---------------------------------------------------------


class VersionStatus(StrEnum):
    """A plan version is written as a draft, approved once, and superseded by the next approval."""

    DRAFT = "draft"
    APPROVED = "approved"
    SUPERSEDED = "superseded"


class ReviewStatus(StrEnum):
    SCHEDULED = "scheduled"
    DUE = "due"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


#: Reviews still to hold: not yet due, or announced as due.
PENDING_REVIEW: tuple[ReviewStatus, ...] = (ReviewStatus.SCHEDULED, ReviewStatus.DUE)


# --- The approval decision --------------------------------------------------------------------


@dataclass(frozen=True)
class PlanApproval:
    """What approving a plan changes, decided before anything is written: the new status, the
    approved content (proposed goals now agreed), whether a draft becomes the approved version,
    whether a review is completed by it, the next review's date and the referrals to request."""

    status: PlanStatus
    approves_draft: bool
    content: dict[str, Any]
    completes_review: bool
    next_review_due: date
    referrals: list[tuple[dict[str, Any], dict[str, Any]]]


def decide_approval(
    *,
    status: PlanStatus | str,
    version_status: str,
    content: Mapping[str, Any],
    previous_content: Mapping[str, Any] | None,
    safety_plan_required: bool,
    approved_on: date,
    interval_days: int,
) -> PlanApproval:
    """The client agreed: may the plan be approved, and what follows. ``approved_on`` is the
    agency's date of the approval (the review is dated from it, not from the UTC date).
    Raises ``IllegalTransition`` or ``ApprovalRefused``."""
    target = transition(status, PlanStatus.ACTIVE)
    problems = approval_problems(content, safety_plan_required=safety_plan_required)
    if problems:
        raise ApprovalRefused(problems)
    approves_draft = version_status == VersionStatus.DRAFT
    approved = agree_goals(content) if approves_draft else _copy_content(content)
    return PlanApproval(
        status=target,
        approves_draft=approves_draft,
        content=approved,
        completes_review=PlanStatus(status) is PlanStatus.UNDER_REVIEW,
        next_review_due=next_review_after_approval(approved_on, interval_days),
        referrals=new_referral_strategies(previous_content, approved),
    )


# --- Suggested changes (a reassessment of an approved plan) -------------------------------------


class SuggestionStatus(StrEnum):
    """A suggested change waits for the plan's next review (open), where it becomes a draft goal
    (taken_up) or is set aside with a reason (dismissed): never dropped unseen."""

    OPEN = "open"
    TAKEN_UP = "taken_up"
    DISMISSED = "dismissed"


def new_unmet_needs(
    content: Mapping[str, Any], unmet_needs: Sequence[str], already_suggested: Collection[str]
) -> list[str]:
    """The domains rated unmet need that the agreed plan has no goal for (any goal counts, as in
    ``propose_goals``) and that no open suggestion names yet, in the order given."""
    covered = {goal.get("domain") for goal in content.get("goals", [])} | set(already_suggested)
    return [domain for domain in dict.fromkeys(unmet_needs) if domain not in covered]


def goal_for_domain(content: Mapping[str, Any], domain: str) -> dict[str, Any] | None:
    return next((goal for goal in content.get("goals", []) if goal.get("domain") == domain), None)
