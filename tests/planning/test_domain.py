"""Unit tests of the planning rules: plan status machine, goals, safety plan, approval, versions,
review dates."""

from __future__ import annotations

import copy
import itertools
import json
import pickle
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.planning import casework_domain, domain
from services.planning.domain import (
    CRISIS_REVIEW_DAYS,
    DEFAULT_REVIEW_INTERVAL_DAYS,
    SAFETY_PLAN_SECTIONS,
    TRANSITIONS,
    ApprovalRefused,
    Attainment,
    GoalStatus,
    IllegalTransition,
    PlanStatus,
    Responsible,
    StrategyType,
    agree_goals,
    allowed_transitions,
    approval_problems,
    compare_versions,
    empty_content,
    is_editable,
    is_overdue,
    missing_safety_plan_sections,
    new_referral_strategies,
    next_review_after_approval,
    propose_goals,
    review_after_crisis,
    transition,
)
from tests.support.layering import non_standard_imports

DRAFT, ACTIVE, UNDER_REVIEW, CLOSED = (
    PlanStatus.DRAFT,
    PlanStatus.ACTIVE,
    PlanStatus.UNDER_REVIEW,
    PlanStatus.CLOSED,
)

# Written out by hand, not derived from TRANSITIONS, so the table is checked against the design.
LEGAL: dict[tuple[PlanStatus, PlanStatus], str] = {
    (DRAFT, ACTIVE): "approve",
    (DRAFT, CLOSED): "close",
    (ACTIVE, UNDER_REVIEW): "start_review",
    (ACTIVE, CLOSED): "close",
    (UNDER_REVIEW, ACTIVE): "approve",
    (UNDER_REVIEW, CLOSED): "close",
}
ALLOWED_FROM: dict[PlanStatus, list[str]] = {
    DRAFT: ["active", "closed"],
    ACTIVE: ["closed", "under_review"],
    UNDER_REVIEW: ["active", "closed"],
    CLOSED: [],
}
ALL_PAIRS = list(itertools.product(PlanStatus, PlanStatus))
ILLEGAL_PAIRS = [pair for pair in ALL_PAIRS if pair not in LEGAL]

# --- Factories ----------------------------------------------------------------------------------


def ids(prefix: str = "id") -> Callable[[], str]:
    """A new_id that hands out predictable ids: id-1, id-2, ..."""
    counter: Iterator[int] = itertools.count(1)
    return lambda: f"{prefix}-{next(counter)}"


def strategy(
    strategy_id: str,
    *,
    kind: str = StrategyType.ACTION,
    responsible: str = Responsible.CLIENT,
    partner_service_id: str | None = None,
    description: str = "Do the thing",
) -> dict[str, Any]:
    return {
        "id": strategy_id,
        "description": description,
        "type": str(kind),
        "responsible": str(responsible),
        "due_by": None,
        "partner_service_id": partner_service_id,
    }


def referral(strategy_id: str, partner_service_id: str = "svc-1") -> dict[str, Any]:
    return strategy(
        strategy_id,
        kind=StrategyType.REFERRAL,
        responsible=Responsible.PARTNER_SERVICE,
        partner_service_id=partner_service_id,
    )


def goal(
    goal_id: str,
    domain_name: str = "housing",
    *,
    status: str = GoalStatus.PROPOSED,
    in_own_words: str = "I want my own place",
    measurable_target: str = "Signed tenancy",
    target_date: str | None = "2025-06-30",
    strategies: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "id": goal_id,
        "domain": domain_name,
        "in_own_words": in_own_words,
        "measurable_target": measurable_target,
        "target_date": target_date,
        "status": str(status),
        "strategies": strategies or [],
    }


def full_safety_plan() -> dict[str, list[str]]:
    return {section: [f"{section} entry"] for section in SAFETY_PLAN_SECTIONS}


def content(*goals: dict[str, Any], safety_plan: dict[str, list[str]] | None = None) -> dict:
    return {"goals": list(goals), "safety_plan": safety_plan}


# --- Module boundaries --------------------------------------------------------------------------


def test_domain_imports_only_the_standard_library() -> None:
    """Besides the standard library, only ``shared.rules``, itself standard-library only."""
    assert not non_standard_imports(Path(domain.__file__))


def test_enum_values_are_the_stored_strings() -> None:
    assert [str(s) for s in PlanStatus] == ["draft", "active", "under_review", "closed"]
    assert [str(r) for r in Responsible] == [
        "client",
        "case_manager",
        "nominated_person",
        "partner_service",
    ]
    assert [str(t) for t in StrategyType] == ["action", "referral"]
    assert [str(s) for s in GoalStatus] == ["proposed", "agreed", "achieved", "discontinued"]


# --- Plan status machine ------------------------------------------------------------------------


def test_transition_table_is_exactly_the_designed_one() -> None:
    assert set(TRANSITIONS) == set(PlanStatus)
    table = {
        (source, target): action
        for source, row in TRANSITIONS.items()
        for target, action in row.items()
    }
    assert table == LEGAL


def test_transition_table_cannot_be_changed_by_a_caller() -> None:
    with pytest.raises(TypeError):
        TRANSITIONS[CLOSED] = {DRAFT: "reopen"}  # type: ignore[index]
    with pytest.raises(TypeError):
        TRANSITIONS[CLOSED][DRAFT] = "reopen"  # type: ignore[index]


@pytest.mark.parametrize(("current", "requested"), ALL_PAIRS, ids=lambda s: str(s))
def test_every_status_pair_is_either_allowed_or_refused_naming_the_allowed_ones(
    current: PlanStatus, requested: PlanStatus
) -> None:
    if (current, requested) in LEGAL:
        assert transition(current, requested) is requested
        return
    with pytest.raises(IllegalTransition) as refused:
        transition(current, requested)
    error = refused.value
    assert (error.current, error.requested) == (current, requested)
    assert error.allowed == ALLOWED_FROM[current]
    message = str(error)
    assert f"allowed from {current.value.replace('_', ' ')}: " in message
    assert message.endswith(", ".join(ALLOWED_FROM[current]) or "none")


@pytest.mark.parametrize(("current", "requested"), list(LEGAL), ids=lambda s: str(s))
def test_transitions_accept_plain_strings(current: PlanStatus, requested: PlanStatus) -> None:
    result = transition(current.value, requested.value)

    assert result is requested
    assert type(result) is PlanStatus


@pytest.mark.parametrize("status", list(PlanStatus), ids=str)
def test_staying_in_the_same_status_is_refused(status: PlanStatus) -> None:
    with pytest.raises(IllegalTransition, match=f"already {status.value.replace('_', ' ')}"):
        transition(status, status)


@pytest.mark.parametrize(
    ("current", "requested", "message"),
    [
        (CLOSED, ACTIVE, "A closed plan cannot become active; allowed from closed: none"),
        (
            DRAFT,
            UNDER_REVIEW,
            "A draft plan cannot become under review; allowed from draft: active, closed",
        ),
        (
            ACTIVE,
            DRAFT,
            "An active plan cannot become draft; allowed from active: closed, under_review",
        ),
        (
            UNDER_REVIEW,
            DRAFT,
            "An under review plan cannot become draft; allowed from under review: active, closed",
        ),
        (ACTIVE, ACTIVE, "The plan is already active; allowed from active: closed, under_review"),
    ],
)
def test_illegal_transition_message_reads_as_a_sentence(
    current: PlanStatus, requested: PlanStatus, message: str
) -> None:
    with pytest.raises(IllegalTransition) as refused:
        transition(current, requested)

    assert str(refused.value) == message


def test_a_closed_plan_is_final() -> None:
    assert allowed_transitions(CLOSED) == []
    for target in PlanStatus:
        with pytest.raises(IllegalTransition):
            transition(CLOSED, target)


@pytest.mark.parametrize("status", list(PlanStatus), ids=str)
def test_allowed_transitions_are_the_sorted_target_values(status: PlanStatus) -> None:
    assert allowed_transitions(status) == ALLOWED_FROM[status]
    assert allowed_transitions(status.value) == ALLOWED_FROM[status]


@pytest.mark.parametrize("bad", ["", "Draft", "approved", "open"])
def test_unknown_status_is_refused_not_treated_as_illegal(bad: str) -> None:
    with pytest.raises(ValueError):
        transition(bad, ACTIVE)
    with pytest.raises(ValueError):
        transition(DRAFT, bad)
    with pytest.raises(ValueError):
        allowed_transitions(bad)


def test_illegal_transition_survives_pickling_with_its_details() -> None:
    error = IllegalTransition(ACTIVE, DRAFT)
    copied = pickle.loads(pickle.dumps(error))

    assert type(copied) is IllegalTransition
    assert str(copied) == str(error)
    assert vars(copied) == vars(error)


@pytest.mark.parametrize(
    ("status", "editable"),
    [(DRAFT, True), (ACTIVE, False), (UNDER_REVIEW, True), (CLOSED, False)],
    ids=str,
)
def test_only_draft_and_under_review_plans_are_editable(status: PlanStatus, editable: bool) -> None:
    assert is_editable(status) is editable
    assert is_editable(status.value) is editable


def test_editability_covers_every_status() -> None:
    assert {status for status in PlanStatus if is_editable(status)} == {DRAFT, UNDER_REVIEW}


# --- Safety plan --------------------------------------------------------------------------------


def test_safety_plan_has_the_six_stanley_brown_sections_in_order() -> None:
    assert SAFETY_PLAN_SECTIONS == (
        "warning_signs",
        "internal_coping_strategies",
        "distraction_people_and_places",
        "people_to_ask_for_help",
        "professionals_and_crisis_lines",
        "making_environment_safe",
    )


@pytest.mark.parametrize("safety_plan", [None, {}], ids=["none", "empty"])
def test_no_safety_plan_misses_every_section(safety_plan: dict | None) -> None:
    assert missing_safety_plan_sections(safety_plan) == list(SAFETY_PLAN_SECTIONS)


def test_a_complete_safety_plan_misses_nothing() -> None:
    assert missing_safety_plan_sections(full_safety_plan()) == []


@pytest.mark.parametrize("section", SAFETY_PLAN_SECTIONS)
@pytest.mark.parametrize(
    "entries",
    [[], [""], ["   "], ["\t\n"], ["", " "], None],
    ids=["no-entries", "empty", "spaces", "whitespace", "several-blank", "null"],
)
def test_a_section_with_only_blank_entries_is_missing(section: str, entries: list | None) -> None:
    plan = {**full_safety_plan(), section: entries}

    assert missing_safety_plan_sections(plan) == [section]


def test_one_real_entry_among_blanks_fills_a_section() -> None:
    plan = {**full_safety_plan(), "warning_signs": ["", "  ", "Not sleeping"]}

    assert missing_safety_plan_sections(plan) == []


def test_missing_sections_come_in_safety_plan_order() -> None:
    plan = {
        "making_environment_safe": ["Pharmacy keeps the tablets"],
        "internal_coping_strategies": ["Walk the dog"],
        "people_to_ask_for_help": ["Sam"],
    }

    assert missing_safety_plan_sections(plan) == [
        "warning_signs",
        "distraction_people_and_places",
        "professionals_and_crisis_lines",
    ]


def test_unknown_safety_plan_sections_are_ignored() -> None:
    plan = {**full_safety_plan(), "notes": []}

    assert missing_safety_plan_sections(plan) == []


def test_a_section_given_as_a_bare_string_is_refused_not_read_as_characters() -> None:
    plan = {**full_safety_plan(), "warning_signs": "Not sleeping"}

    with pytest.raises(TypeError, match="warning_signs"):
        missing_safety_plan_sections(plan)


# --- Proposing goals ----------------------------------------------------------------------------


def test_empty_content_has_no_goals_and_no_safety_plan() -> None:
    assert empty_content() == {"goals": [], "safety_plan": None}
    assert empty_content() is not empty_content()


def test_one_proposed_goal_per_unmet_need_in_order() -> None:
    proposed = propose_goals(empty_content(), ["mental_state", "housing", "income"], ids("g"))

    assert proposed == {
        "goals": [
            {
                "id": f"g-{n}",
                "domain": name,
                "in_own_words": "",
                "measurable_target": "",
                "target_date": None,
                "status": "proposed",
                "strategies": [],
            }
            for n, name in enumerate(["mental_state", "housing", "income"], start=1)
        ],
        "safety_plan": None,
    }
    json.dumps(proposed)


def test_proposing_twice_with_the_same_needs_adds_no_duplicates() -> None:
    new_id = ids("g")
    once = propose_goals(empty_content(), ["housing", "income"], new_id)
    twice = propose_goals(once, ["housing", "income"], new_id)

    assert twice == once


def test_a_need_repeated_in_the_list_gets_one_goal() -> None:
    proposed = propose_goals(empty_content(), ["housing", "housing"], ids())

    assert [g["domain"] for g in proposed["goals"]] == ["housing"]


@pytest.mark.parametrize("status", list(GoalStatus), ids=str)
def test_an_existing_goal_of_any_status_counts_as_present(status: GoalStatus) -> None:
    existing = content(goal("old", "housing", status=status))

    proposed = propose_goals(existing, ["housing", "income"], ids("new"))

    assert [(g["id"], g["domain"]) for g in proposed["goals"]] == [
        ("old", "housing"),
        ("new-1", "income"),
    ]


def test_proposing_keeps_existing_goals_and_the_safety_plan_untouched() -> None:
    existing = content(
        goal("g-a", "leisure", status=GoalStatus.AGREED, strategies=[strategy("s-1")]),
        safety_plan=full_safety_plan(),
    )

    proposed = propose_goals(existing, ["income"], ids("new"))

    assert proposed["goals"][0] == existing["goals"][0]
    assert proposed["goals"][1]["domain"] == "income"
    assert proposed["safety_plan"] == existing["safety_plan"]


def test_proposing_never_changes_its_input_nor_shares_with_it() -> None:
    existing = content(goal("g-a", "leisure", strategies=[strategy("s-1")]), safety_plan={})
    before = copy.deepcopy(existing)

    proposed = propose_goals(existing, ["income"], ids())
    proposed["goals"][0]["strategies"].append(strategy("s-2"))
    proposed["safety_plan"]["warning_signs"] = ["x"]

    assert existing == before


def test_no_unmet_needs_proposes_nothing_and_asks_for_no_ids() -> None:
    def no_ids() -> str:
        raise AssertionError("new_id called")

    assert propose_goals(empty_content(), [], no_ids) == empty_content()


def test_proposing_into_content_without_keys_fills_them_in() -> None:
    proposed = propose_goals({}, ["housing"], ids())

    assert proposed["safety_plan"] is None
    assert [g["domain"] for g in proposed["goals"]] == ["housing"]


# --- Approval -----------------------------------------------------------------------------------


def test_a_ready_plan_has_no_approval_problems() -> None:
    assert approval_problems(content(goal("g-1")), safety_plan_required=False) == []


@pytest.mark.parametrize("safety_plan_required", [False, True])
def test_a_plan_without_goals_cannot_be_approved(safety_plan_required: bool) -> None:
    problems = approval_problems(
        content(safety_plan=full_safety_plan()), safety_plan_required=safety_plan_required
    )

    assert len(problems) == 1
    assert "no goals" in problems[0]


@pytest.mark.parametrize(
    ("missing_field", "blank", "named"),
    [
        ("in_own_words", "", "the client's own words"),
        ("in_own_words", "   ", "the client's own words"),
        ("measurable_target", "", "a measurable target"),
        ("measurable_target", None, "a measurable target"),
        ("target_date", None, "a target date"),
        ("target_date", "", "a target date"),
    ],
)
def test_a_proposed_goal_lacking_an_essential_blocks_approval_naming_its_domain(
    missing_field: str, blank: str | None, named: str
) -> None:
    incomplete = {**goal("g-1", "work_and_education"), missing_field: blank}

    problems = approval_problems(content(incomplete), safety_plan_required=False)

    assert problems == [f"The work and education goal still needs {named}."]


def test_a_freshly_proposed_goal_names_everything_it_lacks() -> None:
    proposed = propose_goals(empty_content(), ["housing"], ids())

    assert approval_problems(proposed, safety_plan_required=False) == [
        "The housing goal still needs the client's own words, a measurable target, a target date."
    ]


@pytest.mark.parametrize(
    "status", [GoalStatus.AGREED, GoalStatus.ACHIEVED, GoalStatus.DISCONTINUED], ids=str
)
def test_only_proposed_goals_are_checked_for_essentials(status: GoalStatus) -> None:
    settled = goal("g-1", status=status, in_own_words="", target_date=None)

    assert approval_problems(content(settled), safety_plan_required=False) == []


def test_every_incomplete_goal_is_reported_once() -> None:
    plan = content(
        goal("g-1", "housing", in_own_words=""),
        goal("g-2", "income"),
        goal("g-3", "leisure", target_date=None),
    )

    problems = approval_problems(plan, safety_plan_required=False)

    assert len(problems) == 2
    assert "housing" in problems[0]
    assert "leisure" in problems[1]


def test_a_required_safety_plan_names_its_missing_sections() -> None:
    plan = content(
        goal("g-1"),
        safety_plan={**full_safety_plan(), "warning_signs": [" "], "making_environment_safe": []},
    )

    assert approval_problems(plan, safety_plan_required=True) == [
        "A safety plan is required; sections still to write: warning signs, "
        "making environment safe."
    ]


def test_a_required_but_absent_safety_plan_names_all_sections() -> None:
    problems = approval_problems(content(goal("g-1")), safety_plan_required=True)

    assert len(problems) == 1
    for section in SAFETY_PLAN_SECTIONS:
        assert section.replace("_", " ") in problems[0]


def test_a_complete_required_safety_plan_allows_approval() -> None:
    plan = content(goal("g-1"), safety_plan=full_safety_plan())

    assert approval_problems(plan, safety_plan_required=True) == []


def test_a_safety_plan_not_required_is_not_checked() -> None:
    plan = content(goal("g-1"), safety_plan={"warning_signs": []})

    assert approval_problems(plan, safety_plan_required=False) == []


def test_goal_and_safety_plan_problems_are_all_reported_together() -> None:
    plan = content(goal("g-1", measurable_target=""))

    problems = approval_problems(plan, safety_plan_required=True)

    assert len(problems) == 2
    assert "measurable target" in problems[0]
    assert "safety plan" in problems[1]


def test_approval_refused_carries_and_names_its_reasons() -> None:
    error = ApprovalRefused(["The plan has no goals.", "A safety plan is required."])

    assert error.reasons == ["The plan has no goals.", "A safety plan is required."]
    assert str(error) == (
        "The plan cannot be approved yet: The plan has no goals. A safety plan is required."
    )
    copied = pickle.loads(pickle.dumps(error))
    assert type(copied) is ApprovalRefused
    assert copied.reasons == error.reasons


# --- Agreeing goals -----------------------------------------------------------------------------


def test_agreeing_turns_proposed_goals_into_agreed_and_leaves_the_rest() -> None:
    plan = content(
        goal("g-1", status=GoalStatus.PROPOSED),
        goal("g-2", status=GoalStatus.AGREED),
        goal("g-3", status=GoalStatus.ACHIEVED),
        goal("g-4", status=GoalStatus.DISCONTINUED),
        goal("g-5", status=GoalStatus.PROPOSED),
        safety_plan=full_safety_plan(),
    )
    before = copy.deepcopy(plan)

    agreed = agree_goals(plan)

    assert [g["status"] for g in agreed["goals"]] == [
        "agreed",
        "agreed",
        "achieved",
        "discontinued",
        "agreed",
    ]
    assert plan == before
    assert agreed["safety_plan"] == plan["safety_plan"]
    assert compare_versions(plan, agreed)["goals_changed"] == [
        {"id": "g-1", "fields": ["status"]},
        {"id": "g-5", "fields": ["status"]},
    ]


def test_agreeing_an_empty_plan_gives_an_empty_plan() -> None:
    assert agree_goals(empty_content()) == empty_content()


# --- Referrals to request -----------------------------------------------------------------------


def test_every_referral_of_a_first_version_is_new() -> None:
    plan = content(
        goal("g-1", strategies=[strategy("s-1"), referral("s-2", "svc-9")]),
        goal("g-2", "income", strategies=[referral("s-3")]),
    )

    pairs = new_referral_strategies(None, plan)

    assert [(g["id"], s["id"], s["partner_service_id"]) for g, s in pairs] == [
        ("g-1", "s-2", "svc-9"),
        ("g-2", "s-3", "svc-1"),
    ]


def test_referrals_already_in_the_previous_version_are_not_requested_again() -> None:
    previous = content(goal("g-1", strategies=[referral("s-1")]))
    current = content(goal("g-1", strategies=[referral("s-1"), referral("s-2")]))

    assert [s["id"] for _, s in new_referral_strategies(previous, current)] == ["s-2"]


def test_a_referral_moved_to_another_goal_is_not_new() -> None:
    previous = content(goal("g-1", strategies=[referral("s-1")]), goal("g-2", "income"))
    current = content(goal("g-1"), goal("g-2", "income", strategies=[referral("s-1")]))

    assert new_referral_strategies(previous, current) == []


def test_an_action_turned_into_a_referral_is_a_referral_to_request() -> None:
    previous = content(goal("g-1", strategies=[strategy("s-1")]))
    current = content(goal("g-1", strategies=[referral("s-1")]))

    assert [s["id"] for _, s in new_referral_strategies(previous, current)] == ["s-1"]


def test_actions_are_never_referrals_to_request() -> None:
    current = content(goal("g-1", strategies=[strategy("s-1"), strategy("s-2")]))

    assert new_referral_strategies(empty_content(), current) == []


def test_no_referral_is_requested_for_a_discontinued_goal() -> None:
    current = content(
        goal("g-1", status=GoalStatus.DISCONTINUED, strategies=[referral("s-1")]),
        goal("g-2", status=GoalStatus.AGREED, strategies=[referral("s-2")]),
    )

    assert [s["id"] for _, s in new_referral_strategies(None, current)] == ["s-2"]


def test_referral_pairs_are_copies_not_the_plan_itself() -> None:
    current = content(goal("g-1", strategies=[referral("s-1")]))
    before = copy.deepcopy(current)

    [(found_goal, found_strategy)] = new_referral_strategies(None, current)
    found_goal["status"] = "achieved"
    found_strategy["partner_service_id"] = "svc-other"

    assert found_goal["id"] == "g-1"
    assert current == before


# --- Comparing versions -------------------------------------------------------------------------


def test_identical_versions_have_no_differences() -> None:
    plan = content(goal("g-1", strategies=[strategy("s-1")]), safety_plan=full_safety_plan())

    assert compare_versions(plan, copy.deepcopy(plan)) == {
        "goals_added": [],
        "goals_removed": [],
        "goals_changed": [],
        "strategies_added": [],
        "strategies_removed": [],
        "safety_plan_changed": False,
    }


def test_comparison_lists_goals_and_strategies_added_removed_and_changed() -> None:
    older = content(
        goal("g-1", "housing", strategies=[strategy("s-1"), strategy("s-2")]),
        goal("g-2", "income", strategies=[strategy("s-3")]),
        goal("g-3", "leisure"),
    )
    newer = content(
        goal(
            "g-1",
            "housing",
            in_own_words="A flat near my sister",
            target_date="2025-09-30",
            strategies=[strategy("s-1", description="Reworded"), referral("s-4")],
        ),
        goal("g-3", "leisure", status=GoalStatus.ACHIEVED),
        goal("g-4", "relationships", strategies=[strategy("s-5")]),
    )

    assert compare_versions(older, newer) == {
        "goals_added": ["g-4"],
        "goals_removed": ["g-2"],
        "goals_changed": [
            {"id": "g-1", "fields": ["in_own_words", "target_date"]},
            {"id": "g-3", "fields": ["status"]},
        ],
        "strategies_added": ["s-4", "s-5"],
        "strategies_removed": ["s-2", "s-3"],
        "safety_plan_changed": False,
    }


def test_strategy_changes_alone_do_not_mark_a_goal_changed() -> None:
    older = content(goal("g-1", strategies=[strategy("s-1")]))
    newer = content(goal("g-1", strategies=[strategy("s-2")]))

    diff = compare_versions(older, newer)

    assert diff["goals_changed"] == []
    assert (diff["strategies_added"], diff["strategies_removed"]) == (["s-2"], ["s-1"])


def test_a_strategy_moved_between_goals_is_neither_added_nor_removed() -> None:
    older = content(goal("g-1", strategies=[strategy("s-1")]), goal("g-2", "income"))
    newer = content(goal("g-1"), goal("g-2", "income", strategies=[strategy("s-1")]))

    diff = compare_versions(older, newer)

    assert (diff["strategies_added"], diff["strategies_removed"]) == ([], [])


@pytest.mark.parametrize(
    ("older", "newer", "changed"),
    [
        (None, full_safety_plan(), True),
        (full_safety_plan(), None, True),
        (full_safety_plan(), {**full_safety_plan(), "warning_signs": ["Pacing"]}, True),
        (None, {}, False),
        ({}, None, False),
        (None, None, False),
    ],
    ids=["written", "removed", "edited", "none-to-empty", "empty-to-none", "still-none"],
)
def test_safety_plan_change_is_reported(
    older: dict | None, newer: dict | None, changed: bool
) -> None:
    diff = compare_versions(content(safety_plan=older), content(safety_plan=newer))

    assert diff["safety_plan_changed"] is changed


def test_comparison_is_json_able_and_leaves_versions_untouched() -> None:
    older = content(goal("g-1"))
    newer = content(goal("g-1", status=GoalStatus.AGREED), goal("g-2"))
    before = copy.deepcopy((older, newer))

    json.dumps(compare_versions(older, newer))

    assert (older, newer) == before


# --- Review dates -------------------------------------------------------------------------------


def test_review_defaults() -> None:
    assert DEFAULT_REVIEW_INTERVAL_DAYS == 90
    assert CRISIS_REVIEW_DAYS == 7


@pytest.mark.parametrize(
    ("approved_on", "interval", "due"),
    [
        (date(2025, 1, 1), None, date(2025, 4, 1)),
        (date(2024, 1, 1), None, date(2024, 3, 31)),  # leap year
        (date(2025, 11, 15), None, date(2026, 2, 13)),
        (date(2025, 1, 1), 30, date(2025, 1, 31)),
        (date(2025, 1, 1), 1, date(2025, 1, 2)),
    ],
)
def test_next_review_is_the_interval_after_approval(
    approved_on: date, interval: int | None, due: date
) -> None:
    if interval is None:
        assert next_review_after_approval(approved_on) == due
    else:
        assert next_review_after_approval(approved_on, interval) == due


@pytest.mark.parametrize("interval", [0, -1])
def test_a_review_interval_must_be_positive(interval: int) -> None:
    with pytest.raises(ValueError):
        next_review_after_approval(date(2025, 1, 1), interval)


@pytest.mark.parametrize(
    ("current_due", "expected"),
    [
        (None, date(2025, 3, 8)),  # nothing scheduled: crisis review
        (date(2025, 5, 30), date(2025, 3, 8)),  # brought forward
        (date(2025, 3, 9), date(2025, 3, 8)),  # brought forward by a day
        (date(2025, 3, 8), date(2025, 3, 8)),  # same day
        (date(2025, 3, 5), date(2025, 3, 5)),  # already sooner: never pushed later
        (date(2025, 2, 1), date(2025, 2, 1)),  # already overdue: stays overdue
    ],
)
def test_a_crisis_brings_a_review_forward_but_never_later(
    current_due: date | None, expected: date
) -> None:
    assert review_after_crisis(date(2025, 3, 1), current_due) == expected


@pytest.mark.parametrize("offset", range(-10, 100, 3))
def test_a_crisis_review_is_never_later_than_what_was_due(offset: int) -> None:
    flagged_on = date(2025, 3, 1)
    current_due = date.fromordinal(flagged_on.toordinal() + offset)

    due = review_after_crisis(flagged_on, current_due)

    assert due <= current_due
    assert due <= date(2025, 3, 8)


def test_crisis_review_window_can_be_set() -> None:
    assert review_after_crisis(date(2025, 3, 1), None, crisis_days=2) == date(2025, 3, 3)
    assert review_after_crisis(date(2025, 3, 1), None, crisis_days=0) == date(2025, 3, 1)
    with pytest.raises(ValueError):
        review_after_crisis(date(2025, 3, 1), None, crisis_days=-1)


@pytest.mark.parametrize(
    ("due_on", "today", "overdue"),
    [
        (date(2025, 3, 1), date(2025, 2, 28), False),
        (date(2025, 3, 1), date(2025, 3, 1), False),
        (date(2025, 3, 1), date(2025, 3, 2), True),
        (date(2024, 12, 31), date(2025, 1, 1), True),
    ],
)
def test_a_review_is_overdue_only_after_its_due_day(
    due_on: date, today: date, overdue: bool
) -> None:
    assert is_overdue(due_on, today) is overdue


@pytest.mark.parametrize(
    "call",
    [
        lambda: next_review_after_approval(datetime(2025, 1, 1, 12)),
        lambda: review_after_crisis(datetime(2025, 1, 1, 12), None),
        lambda: review_after_crisis(date(2025, 1, 1), datetime(2025, 2, 1)),
        lambda: is_overdue(date(2025, 1, 1), datetime(2025, 1, 2)),
        lambda: is_overdue("2025-01-01", date(2025, 1, 2)),
    ],
    ids=["approval", "crisis-flagged", "crisis-due", "overdue-today", "overdue-string"],
)
def test_review_rules_take_days_not_datetimes_or_strings(call: Callable[[], object]) -> None:
    with pytest.raises(TypeError):
        call()


# --- Goal attainment ----------------------------------------------------------------------------


def test_goal_attainment_scale_runs_from_minus_two_to_plus_two() -> None:
    assert [(a.name, int(a)) for a in Attainment] == [
        ("MUCH_LESS_THAN_EXPECTED", -2),
        ("LESS_THAN_EXPECTED", -1),
        ("EXPECTED", 0),
        ("MORE_THAN_EXPECTED", 1),
        ("MUCH_MORE_THAN_EXPECTED", 2),
    ]
    assert Attainment(0) is Attainment.EXPECTED
    assert Attainment.LESS_THAN_EXPECTED < Attainment.EXPECTED


@pytest.mark.parametrize(
    ("current", "requested"),
    list(itertools.product(casework_domain.AppointmentStatus, casework_domain.AppointmentStatus)),
)
def test_the_appointment_table_lets_only_a_scheduled_appointment_move(
    current: casework_domain.AppointmentStatus, requested: casework_domain.AppointmentStatus
) -> None:
    allowed = (
        current is casework_domain.AppointmentStatus.SCHEDULED
        and requested is not casework_domain.AppointmentStatus.SCHEDULED
    )
    if allowed:
        assert casework_domain.move_appointment(current, requested) is requested
    else:
        with pytest.raises(casework_domain.IllegalAppointmentMove) as refused:
            casework_domain.move_appointment(current, requested)
        assert refused.value.allowed == sorted(
            s.value for s in casework_domain.APPOINTMENT_TRANSITIONS[current]
        )


def test_a_contact_is_late_only_beyond_24_hours() -> None:
    at = datetime(2026, 11, 30, 9, 0)
    assert not casework_domain.is_late_recording(at, at + casework_domain.LATE_RECORDING)
    assert casework_domain.is_late_recording(
        at, at + casework_domain.LATE_RECORDING + timedelta(seconds=1)
    )


@pytest.mark.parametrize(
    ("current", "requested", "reason", "outcome"),
    [
        ("open", "done", None, "done"),
        ("open", "dismissed", "duplicate", "dismissed"),
        ("open", "dismissed", " ", ValueError),
        ("open", "open", None, casework_domain.IllegalTaskMove),
        ("done", "dismissed", "late", casework_domain.IllegalTaskMove),
        ("dismissed", "done", None, casework_domain.IllegalTaskMove),
    ],
)
def test_a_task_closes_once_and_a_dismissal_says_why(
    current: str, requested: str, reason: str | None, outcome: Any
) -> None:
    if isinstance(outcome, str):
        assert casework_domain.close_task(current, requested, reason) == outcome
    else:
        with pytest.raises(outcome):
            casework_domain.close_task(current, requested, reason)


def test_a_consent_needs_renewal_from_14_days_before_its_end() -> None:
    today = date(2026, 11, 30)
    assert casework_domain.consent_needs_renewal(date(2026, 12, 14), today)
    assert not casework_domain.consent_needs_renewal(date(2026, 12, 15), today)
    assert not casework_domain.consent_needs_renewal(None, today)


def test_only_uncovered_new_needs_are_suggested_once_each() -> None:
    content = {"goals": [{"domain": "housing", "status": "achieved"}]}
    assert domain.new_unmet_needs(
        content, ["housing", "income", "income", "leisure"], already_suggested={"leisure"}
    ) == ["income"]
    assert domain.new_unmet_needs(content, [], already_suggested=set()) == []
