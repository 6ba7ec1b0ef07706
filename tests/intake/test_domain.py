"""Unit tests of the intake rules: scoring, risk triage, caseload, duplicate matching, consent."""

from __future__ import annotations

import itertools
import operator
import pickle
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from services.intake import domain
from services.intake.domain import (
    DEFAULT_CASELOAD_CAP,
    LIFE_DOMAINS,
    AssignmentDecision,
    CaseloadFull,
    CaseManagerLoad,
    CssrsAnswers,
    CssrsResult,
    DataCategory,
    DomainError,
    EpisodeStatus,
    InstrumentItemError,
    NeedRating,
    NoCaseManagerAvailable,
    RiskAssessment,
    RiskLevel,
    Severity,
    assess_risk,
    choose_case_manager,
    consent_in_force,
    decide_assignment,
    max_risk,
    opens_risk_flag,
    person_key,
    risk_rank,
    score_cssrs_screener,
    score_gad7,
    score_phq9,
    unmet_needs,
)

# --- Factories ----------------------------------------------------------------------------------
from tests.support.layering import non_standard_imports


def answers_totalling(total: int, count: int, *, last: int | None = None) -> list[int]:
    """``count`` valid answers summing to ``total``; the last one fixed to ``last`` if given."""
    free = count if last is None else count - 1
    rest = total if last is None else total - last
    spread = [min(3, max(0, rest - 3 * i)) for i in range(free)]
    assert sum(spread) == rest, "total not reachable"
    return spread if last is None else [*spread, last]


def screener(*yes: str) -> CssrsAnswers:
    """C-SSRS answers with the named questions answered yes and the skip logic followed.

    Names: q1..q5, q6_recent, q6_older. Q3-Q5 imply Q2 (they are only asked after it).
    """
    unknown = set(yes) - {"q1", "q2", "q3", "q4", "q5", "q6_recent", "q6_older"}
    assert not unknown, unknown
    q2 = bool({"q2", "q3", "q4", "q5"} & set(yes))
    ever = "q6_recent" in yes or "q6_older" in yes
    return CssrsAnswers(
        wish_to_be_dead="q1" in yes,
        suicidal_thoughts=q2,
        method=("q3" in yes) if q2 else None,
        intent=("q4" in yes) if q2 else None,
        plan_with_intent=("q5" in yes) if q2 else None,
        behaviour_ever=ever,
        behaviour_past_3_months=("q6_recent" in yes) if ever else None,
    )


def load(
    case_manager_id: str = "cm-1", *, active: int = 0, flags: int = 0, cap: int = 50
) -> CaseManagerLoad:
    return CaseManagerLoad(
        case_manager_id=case_manager_id, cap=cap, active_clients=active, open_risk_flags=flags
    )


Q1 = "C-SSRS Q1: wish to be dead in the past month"
Q2 = "C-SSRS Q2: suicidal thoughts in the past month"
Q3 = "C-SSRS Q3: thought about a method in the past month"
Q4 = "C-SSRS Q4: suicidal intent in the past month"
Q5 = "C-SSRS Q5: suicide plan with intent in the past month"
Q6_RECENT = "C-SSRS Q6: suicidal behaviour within the past 3 months"
Q6_OLDER = "C-SSRS Q6: suicidal behaviour more than 3 months ago"

WRONG_ANSWERS = [-1, 4, True, False, 1.5, 2.0, "2", None]


# --- Module boundaries --------------------------------------------------------------------------


def test_domain_imports_only_the_standard_library() -> None:
    """Besides the standard library, only ``shared.rules``, itself standard-library only."""
    assert not non_standard_imports(Path(domain.__file__))


def test_enum_values_match_the_published_event_contract() -> None:
    from shared.contracts import intake as contract

    assert tuple(RiskLevel) == contract.RISK_LEVELS
    assert tuple(Severity) == contract.SEVERITIES
    assert tuple(DataCategory) == contract.DATA_CATEGORIES


def test_enum_values_are_the_stored_strings() -> None:
    assert [str(r) for r in NeedRating] == ["no_need", "met_need", "unmet_need"]
    assert [str(s) for s in EpisodeStatus] == ["open", "discharged"]
    assert [str(s) for s in Severity] == [
        "minimal",
        "mild",
        "moderate",
        "moderately_severe",
        "severe",
    ]


# --- Errors -------------------------------------------------------------------------------------


def test_instrument_item_error_names_instrument_and_item() -> None:
    error = InstrumentItemError("phq9", "item_9", "must be an integer from 0 to 3")

    assert isinstance(error, DomainError)
    assert (error.instrument, error.item, error.message) == (
        "phq9",
        "item_9",
        "must be an integer from 0 to 3",
    )
    assert str(error) == "phq9.item_9: must be an integer from 0 to 3"


@pytest.mark.parametrize(
    "error",
    [
        InstrumentItemError("gad7", "item_2", "must be an integer from 0 to 3"),
        CaseloadFull("cm-7", 50, 51),
    ],
)
def test_domain_errors_survive_pickling_with_their_details(error: DomainError) -> None:
    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)


# --- Needs assessment ---------------------------------------------------------------------------


def test_life_domains_are_the_thirteen_from_the_design() -> None:
    assert LIFE_DOMAINS == (
        "mental_state",
        "physical_health",
        "co_occurring_conditions",
        "substance_use",
        "safety_to_self",
        "safety_to_others",
        "relationships",
        "work_and_education",
        "leisure",
        "daily_living_skills",
        "income",
        "housing",
        "rights_and_advocacy",
    )


def test_unmet_needs_come_in_life_domain_order_whatever_the_rating_order() -> None:
    ratings = {
        "rights_and_advocacy": NeedRating.UNMET_NEED,
        "housing": NeedRating.UNMET_NEED,
        "income": NeedRating.MET_NEED,
        "leisure": NeedRating.NO_NEED,
        "mental_state": NeedRating.UNMET_NEED,
        "substance_use": NeedRating.UNMET_NEED,
    }

    assert unmet_needs(ratings) == [
        "mental_state",
        "substance_use",
        "housing",
        "rights_and_advocacy",
    ]


def test_unmet_needs_accept_ratings_as_plain_strings() -> None:
    ratings = {domain: "unmet_need" for domain in reversed(LIFE_DOMAINS)}

    assert unmet_needs(ratings) == list(LIFE_DOMAINS)


@pytest.mark.parametrize(
    "ratings",
    [
        {},
        {"housing": "met_need", "income": NeedRating.NO_NEED},
        dict.fromkeys(LIFE_DOMAINS, NeedRating.MET_NEED),
    ],
)
def test_no_unmet_needs_when_nothing_is_rated_unmet(ratings: dict[str, str]) -> None:
    assert unmet_needs(ratings) == []


def test_unmet_needs_refuse_an_unknown_domain_rather_than_drop_it() -> None:
    with pytest.raises(InstrumentItemError) as raised:
        unmet_needs({"housing": "met_need", "hosuing": "unmet_need"})

    assert (raised.value.instrument, raised.value.item) == ("needs_assessment", "hosuing")


@pytest.mark.parametrize("rating", ["unmet", "UNMET_NEED", "", None, 2])
def test_unmet_needs_refuse_an_unknown_rating(rating: object) -> None:
    with pytest.raises(InstrumentItemError) as raised:
        unmet_needs({"housing": rating})  # type: ignore[dict-item]

    assert raised.value.item == "housing"
    assert "no_need, met_need, unmet_need" in raised.value.message


# --- PHQ-9 --------------------------------------------------------------------------------------

PHQ9_BANDS = [
    (range(0, 5), Severity.MINIMAL),
    (range(5, 10), Severity.MILD),
    (range(10, 15), Severity.MODERATE),
    (range(15, 20), Severity.MODERATELY_SEVERE),
    (range(20, 28), Severity.SEVERE),
]


@pytest.mark.parametrize(
    ("total", "severity"),
    [
        (0, Severity.MINIMAL),
        (4, Severity.MINIMAL),
        (5, Severity.MILD),
        (9, Severity.MILD),
        (10, Severity.MODERATE),
        (14, Severity.MODERATE),
        (15, Severity.MODERATELY_SEVERE),
        (19, Severity.MODERATELY_SEVERE),
        (20, Severity.SEVERE),
        (27, Severity.SEVERE),
    ],
)
def test_phq9_band_boundaries(total: int, severity: Severity) -> None:
    score = score_phq9(answers_totalling(total, 9))

    assert (score.total, score.severity) == (total, severity)


@pytest.mark.parametrize("total", range(28))
def test_every_phq9_total_falls_in_exactly_its_band(total: int) -> None:
    (expected,) = [severity for totals, severity in PHQ9_BANDS if total in totals]

    assert score_phq9(answers_totalling(total, 9)).severity is expected


def test_phq9_total_is_the_sum_of_the_answers_in_any_order() -> None:
    answers = [0, 1, 2, 3, 0, 1, 2, 3, 1]

    for permutation in {tuple(answers[i:] + answers[:i]) for i in range(9)}:
        assert score_phq9(permutation).total == 13


def test_phq9_accepts_a_tuple_as_well_as_a_list() -> None:
    assert score_phq9((1,) * 9) == score_phq9([1] * 9)


@pytest.mark.parametrize("item_9", [1, 2, 3])
def test_phq9_item_9_needs_immediate_follow_up_whatever_the_total(item_9: int) -> None:
    score = score_phq9(answers_totalling(item_9, 9, last=item_9))

    assert score.severity is Severity.MINIMAL
    assert score.item_9 == item_9
    assert score.needs_immediate_follow_up


def test_phq9_severe_total_without_item_9_needs_no_immediate_follow_up() -> None:
    score = score_phq9([3, 3, 3, 3, 3, 3, 3, 3, 0])

    assert score == domain.Phq9Score(total=24, severity=Severity.SEVERE, item_9=0)
    assert not score.needs_immediate_follow_up


@pytest.mark.parametrize("bad", WRONG_ANSWERS, ids=repr)
@pytest.mark.parametrize("position", range(1, 10))
def test_phq9_refuses_an_invalid_answer_naming_its_item(position: int, bad: object) -> None:
    answers: list[object] = [1] * 9
    answers[position - 1] = bad

    with pytest.raises(InstrumentItemError) as raised:
        score_phq9(answers)

    assert (raised.value.instrument, raised.value.item) == ("phq9", f"item_{position}")
    assert str(raised.value) == f"phq9.item_{position}: must be an integer from 0 to 3"


def test_phq9_names_the_first_invalid_item() -> None:
    with pytest.raises(InstrumentItemError) as raised:
        score_phq9([0, 0, 5, 0, None, 0, 0, 0, 0])

    assert raised.value.item == "item_3"


@pytest.mark.parametrize("count", [0, 1, 7, 8, 10])
def test_phq9_refuses_the_wrong_number_of_answers(count: int) -> None:
    with pytest.raises(InstrumentItemError) as raised:
        score_phq9([0] * count)

    assert (raised.value.instrument, raised.value.item) == ("phq9", "items")
    assert str(count) in raised.value.message


@pytest.mark.parametrize("items", [None, 9, "012301230", b"\x00" * 9, {i: 0 for i in range(9)}])
def test_phq9_refuses_answers_that_are_not_a_list(items: object) -> None:
    with pytest.raises(InstrumentItemError) as raised:
        score_phq9(items)  # type: ignore[arg-type]

    assert raised.value.item == "items"


# --- GAD-7 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "severity"),
    [
        (0, Severity.MINIMAL),
        (4, Severity.MINIMAL),
        (5, Severity.MILD),
        (9, Severity.MILD),
        (10, Severity.MODERATE),
        (14, Severity.MODERATE),
        (15, Severity.SEVERE),
        (19, Severity.SEVERE),
        (20, Severity.SEVERE),
        (21, Severity.SEVERE),
    ],
)
def test_gad7_band_boundaries(total: int, severity: Severity) -> None:
    score = score_gad7(answers_totalling(total, 7))

    assert score == domain.Gad7Score(total=total, severity=severity)


@pytest.mark.parametrize("total", range(22))
def test_gad7_never_scores_moderately_severe(total: int) -> None:
    assert score_gad7(answers_totalling(total, 7)).severity is not Severity.MODERATELY_SEVERE


@pytest.mark.parametrize("bad", WRONG_ANSWERS, ids=repr)
@pytest.mark.parametrize("position", range(1, 8))
def test_gad7_refuses_an_invalid_answer_naming_its_item(position: int, bad: object) -> None:
    answers: list[object] = [2] * 7
    answers[position - 1] = bad

    with pytest.raises(InstrumentItemError) as raised:
        score_gad7(answers)

    assert str(raised.value) == f"gad7.item_{position}: must be an integer from 0 to 3"


@pytest.mark.parametrize("count", [0, 6, 8, 9])
def test_gad7_refuses_the_wrong_number_of_answers(count: int) -> None:
    with pytest.raises(InstrumentItemError) as raised:
        score_gad7([0] * count)

    assert (raised.value.instrument, raised.value.item) == ("gad7", "items")


# --- Risk levels --------------------------------------------------------------------------------


def test_risk_levels_order_by_severity_not_alphabet() -> None:
    assert [level.rank for level in RiskLevel] == [0, 1, 2, 3]
    assert sorted([RiskLevel.HIGH, RiskLevel.NONE, RiskLevel.MODERATE, RiskLevel.LOW]) == list(
        RiskLevel
    )
    assert RiskLevel.LOW < RiskLevel.HIGH
    assert RiskLevel.HIGH > RiskLevel.MODERATE >= RiskLevel.MODERATE > RiskLevel.NONE
    assert max(RiskLevel.LOW, RiskLevel.HIGH, RiskLevel.MODERATE) is RiskLevel.HIGH


@pytest.mark.parametrize(
    ("level", "rank"), [("none", 0), ("low", 1), (RiskLevel.MODERATE, 2), (RiskLevel.HIGH, 3)]
)
def test_risk_rank_counts_up_with_severity(level: RiskLevel | str, rank: int) -> None:
    assert risk_rank(level) == rank == RiskLevel(level).rank


def test_risk_rank_refuses_an_unknown_level() -> None:
    with pytest.raises(ValueError):
        risk_rank("severe")


def test_risk_levels_compare_with_their_string_values() -> None:
    assert RiskLevel.HIGH > "low"
    assert RiskLevel.NONE <= "none"
    assert RiskLevel.HIGH == "high"


@pytest.mark.parametrize("compare", [operator.lt, operator.le, operator.gt, operator.ge])
@pytest.mark.parametrize("other", ["severe", 2, None])
def test_risk_levels_refuse_to_order_against_something_else(
    other: object, compare: Callable[[object, object], bool]
) -> None:
    with pytest.raises(TypeError):
        compare(RiskLevel.LOW, other)
    with pytest.raises(TypeError):
        compare(other, RiskLevel.LOW)


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        ((), RiskLevel.NONE),
        ((RiskLevel.LOW,), RiskLevel.LOW),
        ((RiskLevel.HIGH, RiskLevel.LOW), RiskLevel.HIGH),
        (("low", "moderate", "none"), RiskLevel.MODERATE),
    ],
)
def test_max_risk_is_the_most_severe(levels: tuple[str, ...], expected: RiskLevel) -> None:
    assert max_risk(*levels) is expected


@pytest.mark.parametrize(
    ("level", "opens"),
    [
        (RiskLevel.NONE, False),
        (RiskLevel.LOW, False),
        (RiskLevel.MODERATE, True),
        (RiskLevel.HIGH, True),
        ("moderate", True),
        ("low", False),
    ],
)
def test_risk_flag_opens_at_moderate_or_above(level: RiskLevel, opens: bool) -> None:
    assert opens_risk_flag(level) is opens


# --- C-SSRS screener ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yes", "level", "reasons"),
    [
        ((), RiskLevel.NONE, ()),
        (("q1",), RiskLevel.LOW, (Q1,)),
        (("q2",), RiskLevel.LOW, (Q2,)),
        (("q1", "q2"), RiskLevel.LOW, (Q1, Q2)),
        (("q2", "q3"), RiskLevel.MODERATE, (Q3,)),
        (("q2", "q4"), RiskLevel.HIGH, (Q4,)),
        (("q2", "q5"), RiskLevel.HIGH, (Q5,)),
        (("q6_recent",), RiskLevel.HIGH, (Q6_RECENT,)),
        (("q6_older",), RiskLevel.MODERATE, (Q6_OLDER,)),
        (("q1", "q6_older"), RiskLevel.MODERATE, (Q6_OLDER,)),
        (("q1", "q2", "q3", "q6_older"), RiskLevel.MODERATE, (Q3, Q6_OLDER)),
        (("q1", "q2", "q3", "q4"), RiskLevel.HIGH, (Q4,)),
        (("q2", "q4", "q5"), RiskLevel.HIGH, (Q4, Q5)),
        (("q1", "q6_recent"), RiskLevel.HIGH, (Q6_RECENT,)),
        (("q2", "q3", "q6_recent"), RiskLevel.HIGH, (Q6_RECENT,)),
        (("q1", "q2", "q3", "q4", "q5", "q6_recent"), RiskLevel.HIGH, (Q4, Q5, Q6_RECENT)),
    ],
    ids=lambda value: "+".join(value) or "none" if isinstance(value, tuple) else None,
)
def test_most_severe_yes_sets_the_cssrs_level(
    yes: tuple[str, ...], level: RiskLevel, reasons: tuple[str, ...]
) -> None:
    assert score_cssrs_screener(screener(*yes)) == CssrsResult(level=level, reasons=reasons)


def _every_valid_screener() -> list[CssrsAnswers]:
    q2_branches = [(False, None, None, None)] + [
        (True, *follow_ups) for follow_ups in itertools.product([False, True], repeat=3)
    ]
    q6_branches = [(False, None), (False, False), (True, False), (True, True)]
    return [
        CssrsAnswers(q1, q2, q3, q4, q5, ever, recent)
        for q1 in (False, True)
        for q2, q3, q4, q5 in q2_branches
        for ever, recent in q6_branches
    ]


def _one_more_yes(answers: CssrsAnswers) -> list[CssrsAnswers]:
    """Every valid screener that differs from ``answers`` by turning one "no" into "yes"."""
    more = []
    if not answers.wish_to_be_dead:
        more.append(replace(answers, wish_to_be_dead=True))
    if not answers.suicidal_thoughts:
        more.append(
            replace(
                answers, suicidal_thoughts=True, method=False, intent=False, plan_with_intent=False
            )
        )
    else:
        for field in ("method", "intent", "plan_with_intent"):
            if not getattr(answers, field):
                more.append(replace(answers, **{field: True}))
    if not answers.behaviour_ever:
        more.append(replace(answers, behaviour_ever=True, behaviour_past_3_months=False))
    elif not answers.behaviour_past_3_months:
        more.append(replace(answers, behaviour_past_3_months=True))
    return more


def test_every_valid_cssrs_is_scored_with_a_reason_for_any_risk() -> None:
    screeners = _every_valid_screener()
    assert len(screeners) == 72

    for answers in screeners:
        result = score_cssrs_screener(answers)
        assert (result.level is RiskLevel.NONE) == (not result.reasons), answers
        assert all(reason.startswith("C-SSRS Q") for reason in result.reasons)


def test_another_yes_never_lowers_the_cssrs_level() -> None:
    for answers in _every_valid_screener():
        level = score_cssrs_screener(answers).level
        for more in _one_more_yes(answers):
            assert score_cssrs_screener(more).level >= level, (answers, more)


@pytest.mark.parametrize("answer", [True, False])
@pytest.mark.parametrize(
    ("field", "item"),
    [("method", "q3_method"), ("intent", "q4_intent"), ("plan_with_intent", "q5_plan_with_intent")],
)
def test_cssrs_follow_ups_are_refused_when_q2_was_no(field: str, item: str, answer: bool) -> None:
    answers = CssrsAnswers(wish_to_be_dead=True, suicidal_thoughts=False, **{field: answer})

    with pytest.raises(InstrumentItemError) as raised:
        score_cssrs_screener(answers)

    assert (raised.value.instrument, raised.value.item) == ("cssrs", item)
    assert raised.value.message == "asked only when q2_suicidal_thoughts is yes"


@pytest.mark.parametrize(
    ("field", "item"),
    [("method", "q3_method"), ("intent", "q4_intent"), ("plan_with_intent", "q5_plan_with_intent")],
)
def test_cssrs_follow_ups_are_required_when_q2_was_yes(field: str, item: str) -> None:
    follow_ups = {"method": False, "intent": False, "plan_with_intent": False, field: None}
    answers = CssrsAnswers(wish_to_be_dead=False, suicidal_thoughts=True, **follow_ups)

    with pytest.raises(InstrumentItemError) as raised:
        score_cssrs_screener(answers)

    assert raised.value.item == item
    assert raised.value.message == "must be answered when q2_suicidal_thoughts is yes"


def test_cssrs_behaviour_needs_its_3_month_follow_up() -> None:
    answers = CssrsAnswers(wish_to_be_dead=False, suicidal_thoughts=False, behaviour_ever=True)

    with pytest.raises(InstrumentItemError) as raised:
        score_cssrs_screener(answers)

    assert str(raised.value) == "cssrs.q6_past_3_months: must be answered when q6_behaviour is yes"


def test_cssrs_recent_behaviour_is_refused_without_any_behaviour() -> None:
    answers = CssrsAnswers(
        wish_to_be_dead=False,
        suicidal_thoughts=False,
        behaviour_ever=False,
        behaviour_past_3_months=True,
    )

    with pytest.raises(InstrumentItemError) as raised:
        score_cssrs_screener(answers)

    assert str(raised.value) == "cssrs.q6_past_3_months: asked only when q6_behaviour is yes"


def test_cssrs_no_recent_behaviour_is_accepted_without_any_behaviour() -> None:
    answers = CssrsAnswers(
        wish_to_be_dead=False,
        suicidal_thoughts=False,
        behaviour_ever=False,
        behaviour_past_3_months=False,
    )

    assert score_cssrs_screener(answers) == CssrsResult(level=RiskLevel.NONE, reasons=())


CSSRS_ITEMS = {
    "wish_to_be_dead": "q1_wish_to_be_dead",
    "suicidal_thoughts": "q2_suicidal_thoughts",
    "method": "q3_method",
    "intent": "q4_intent",
    "plan_with_intent": "q5_plan_with_intent",
    "behaviour_ever": "q6_behaviour",
    "behaviour_past_3_months": "q6_past_3_months",
}
ASKED_ALWAYS = {"wish_to_be_dead", "suicidal_thoughts", "behaviour_ever"}


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        (field, bad)
        for field in CSSRS_ITEMS
        # None means "not asked" for a follow-up; the skip-logic tests cover it.
        for bad in (["yes", 1, 0, None] if field in ASKED_ALWAYS else ["yes", 1, 0])
    ],
)
def test_cssrs_answers_must_be_yes_or_no(field: str, bad: object) -> None:
    asked_everything = {
        "wish_to_be_dead": False,
        "suicidal_thoughts": True,
        "method": False,
        "intent": False,
        "plan_with_intent": False,
        "behaviour_ever": True,
        "behaviour_past_3_months": False,
    }

    with pytest.raises(InstrumentItemError) as raised:
        score_cssrs_screener(CssrsAnswers(**{**asked_everything, field: bad}))

    assert (raised.value.instrument, raised.value.item) == ("cssrs", CSSRS_ITEMS[field])


# --- Combined risk ------------------------------------------------------------------------------


def phq9_with_item_9(item_9: int, total: int = 6) -> domain.Phq9Score:
    return score_phq9(answers_totalling(total, 9, last=item_9))


def test_no_instruments_means_no_risk() -> None:
    assert assess_risk(None, None) == RiskAssessment(
        level=RiskLevel.NONE, reasons=(), cssrs_screen_needed=False
    )


def test_phq9_without_item_9_adds_no_risk_even_when_severe() -> None:
    assert assess_risk(score_phq9([3] * 8 + [0]), None) == RiskAssessment(
        level=RiskLevel.NONE, reasons=(), cssrs_screen_needed=False
    )


@pytest.mark.parametrize("item_9", [1, 2, 3])
def test_phq9_item_9_alone_is_moderate_and_asks_for_a_cssrs(item_9: int) -> None:
    assert assess_risk(phq9_with_item_9(item_9), None) == RiskAssessment(
        level=RiskLevel.MODERATE,
        reasons=(f"PHQ-9 item 9 (thoughts of self-harm) answered {item_9}",),
        cssrs_screen_needed=True,
    )


@pytest.mark.parametrize(
    ("yes", "level", "cssrs_reasons"),
    [
        ((), RiskLevel.MODERATE, ()),
        (("q1",), RiskLevel.MODERATE, (Q1,)),
        (("q2", "q3"), RiskLevel.MODERATE, (Q3,)),
        (("q2", "q4"), RiskLevel.HIGH, (Q4,)),
        (("q6_recent",), RiskLevel.HIGH, (Q6_RECENT,)),
    ],
)
def test_phq9_item_9_with_a_cssrs_takes_the_higher_level_and_keeps_all_reasons(
    yes: tuple[str, ...], level: RiskLevel, cssrs_reasons: tuple[str, ...]
) -> None:
    assessment = assess_risk(phq9_with_item_9(2), score_cssrs_screener(screener(*yes)))

    assert assessment == RiskAssessment(
        level=level,
        reasons=("PHQ-9 item 9 (thoughts of self-harm) answered 2", *cssrs_reasons),
        cssrs_screen_needed=False,
    )


@pytest.mark.parametrize(
    ("yes", "level"),
    [
        ((), RiskLevel.NONE),
        (("q1",), RiskLevel.LOW),
        (("q6_older",), RiskLevel.MODERATE),
        (("q2", "q5"), RiskLevel.HIGH),
    ],
)
@pytest.mark.parametrize("with_phq9", [False, True])
def test_cssrs_sets_the_level_when_phq9_item_9_is_zero(
    yes: tuple[str, ...], level: RiskLevel, with_phq9: bool
) -> None:
    cssrs = score_cssrs_screener(screener(*yes))
    phq9 = phq9_with_item_9(0, total=20) if with_phq9 else None

    assessment = assess_risk(phq9, cssrs)

    assert assessment == RiskAssessment(
        level=level, reasons=cssrs.reasons, cssrs_screen_needed=False
    )


# --- Caseload -----------------------------------------------------------------------------------


def test_default_caseload_cap_is_fifty() -> None:
    assert DEFAULT_CASELOAD_CAP == 50


@pytest.mark.parametrize(
    ("active", "cap", "has_room"),
    [(0, 50, True), (49, 50, True), (50, 50, False), (51, 50, False), (0, 0, False)],
)
def test_case_manager_has_room_only_below_the_cap(active: int, cap: int, has_room: bool) -> None:
    assert load(active=active, cap=cap).has_room is has_room


@pytest.mark.parametrize("counts", [{"cap": -1}, {"active_clients": -1}, {"open_risk_flags": -1}])
def test_caseload_counts_cannot_be_negative(counts: dict[str, int]) -> None:
    fields = {"case_manager_id": "cm-1", "cap": 50, "active_clients": 0, "open_risk_flags": 0}

    with pytest.raises(ValueError):
        CaseManagerLoad(**{**fields, **counts})


def _either_order(team: list[CaseManagerLoad]) -> list[list[CaseManagerLoad]]:
    return [team, list(reversed(team))]


@pytest.mark.parametrize(
    "team",
    _either_order([load("cm-a", active=30), load("cm-b", active=12), load("cm-c", active=40)]),
)
def test_automatic_assignment_picks_the_least_loaded(team: list[CaseManagerLoad]) -> None:
    assert choose_case_manager(team).case_manager_id == "cm-b"


@pytest.mark.parametrize(
    "team",
    _either_order(
        [
            load("cm-a", active=12, flags=3),
            load("cm-b", active=12, flags=1),
            load("cm-c", active=13),
        ]
    ),
)
def test_automatic_assignment_breaks_ties_by_fewer_risk_flags(
    team: list[CaseManagerLoad],
) -> None:
    assert choose_case_manager(team).case_manager_id == "cm-b"


@pytest.mark.parametrize(
    "team",
    _either_order([load("cm-b", active=5, flags=1), load("cm-a", active=5, flags=1)]),
)
def test_automatic_assignment_breaks_full_ties_by_id(team: list[CaseManagerLoad]) -> None:
    assert choose_case_manager(team).case_manager_id == "cm-a"


def test_automatic_assignment_skips_anyone_at_their_cap() -> None:
    team = [load("cm-a", active=10, cap=10), load("cm-b", active=30, flags=9)]

    assert choose_case_manager(team).case_manager_id == "cm-b"


@pytest.mark.parametrize(
    "team",
    [[], [load("cm-a", active=50)], [load("cm-a", active=50), load("cm-b", active=7, cap=5)]],
)
def test_automatic_assignment_refuses_when_nobody_has_room(team: list[CaseManagerLoad]) -> None:
    with pytest.raises(NoCaseManagerAvailable):
        choose_case_manager(team)


@pytest.mark.parametrize("by_supervisor", [False, True])
@pytest.mark.parametrize("override_reason", [None, "", "covering leave"])
def test_assignment_within_cap_needs_no_override(
    by_supervisor: bool, override_reason: str | None
) -> None:
    decision = decide_assignment(
        load("cm-1", active=49), override_reason=override_reason, by_supervisor=by_supervisor
    )

    assert decision == AssignmentDecision("cm-1", over_cap=False, override_reason=None)


@pytest.mark.parametrize("active", [50, 51])
def test_assignment_at_or_over_cap_is_refused(active: int) -> None:
    with pytest.raises(CaseloadFull) as raised:
        decide_assignment(load("cm-1", active=active), override_reason=None, by_supervisor=False)

    assert (raised.value.case_manager_id, raised.value.cap, raised.value.active_clients) == (
        "cm-1",
        50,
        active,
    )
    assert "cap of 50" in str(raised.value)
    assert isinstance(raised.value, DomainError)


def test_supervisor_can_go_over_cap_with_a_recorded_reason() -> None:
    decision = decide_assignment(
        load("cm-1", active=50),
        override_reason="  continuity: worked with client before  ",
        by_supervisor=True,
    )

    assert decision == AssignmentDecision(
        "cm-1", over_cap=True, override_reason="continuity: worked with client before"
    )


@pytest.mark.parametrize("override_reason", [None, "", "   \n\t"])
def test_supervisor_cannot_go_over_cap_without_a_reason(override_reason: str | None) -> None:
    with pytest.raises(CaseloadFull):
        decide_assignment(
            load("cm-1", active=50), override_reason=override_reason, by_supervisor=True
        )


def test_non_supervisor_cannot_go_over_cap_even_with_a_reason() -> None:
    with pytest.raises(CaseloadFull):
        decide_assignment(
            load("cm-1", active=50), override_reason="client asked for her", by_supervisor=False
        )


# --- Duplicate detection ------------------------------------------------------------------------

BORN = date(1980, 2, 1)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("José", "O'Neil-Smith"), ("jose", "oneil smith")),
        (("JOSÉ", "O\u2019NEIL\u2013SMITH"), ("Jose", "ONeil Smith")),
        (("Jose\u0301", "Smith"), ("Jos\u00e9", "Smith")),
        (("  Mary   Jane ", "Smith"), ("mary-jane", "smith")),
        (("Mary\u00a0Jane", "Smith"), ("Mary\tJane", "Smith")),
        (("Zoë", "Brontë"), ("Zoe", "Bronte")),
        (("Lena", "Strauß"), ("LENA", "STRAUSS")),
        (("Ana", "D'Souza"), ("ana", "dsouza")),
        (("Ana", "D\u02bcSouza"), ("ana", "d`souza")),
        (("Anne-", "-Smith"), ("anne", "smith")),
    ],
)
def test_person_key_matches_the_usual_variations_of_one_name(
    first: tuple[str, str], second: tuple[str, str]
) -> None:
    assert person_key(*first, BORN) == person_key(*second, BORN)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("José", "Smith", BORN), ("José", "Smith", date(1980, 1, 2))),
        (("John", "Smith", BORN), ("Smith", "John", BORN)),
        (("Jon", "Smith", BORN), ("John", "Smith", BORN)),
        (("Mary Jane", "Smith", BORN), ("Mary", "Jane Smith", BORN)),
        (("Mary", "Jane|Smith", BORN), ("Mary|Jane", "Smith", BORN)),
        (("Ann", "Smith", BORN), ("Anna", "Smith", BORN)),
    ],
)
def test_person_key_keeps_different_people_apart(
    first: tuple[str, str, date], second: tuple[str, str, date]
) -> None:
    assert person_key(*first) != person_key(*second)


def test_person_key_ignores_a_time_of_day_on_the_birth_date() -> None:
    assert person_key("Ana", "Lee", datetime(1980, 2, 1, 13, 5)) == person_key("Ana", "Lee", BORN)


# --- Consent ------------------------------------------------------------------------------------

STARTS = date(2024, 3, 1)
EXPIRES = date(2024, 6, 1)


def at(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "in_force"),
    [
        (at(2024, 2, 29, 23, 59), False),
        (at(2024, 3, 1, 0, 0), True),
        (at(2024, 3, 1), True),
        (at(2024, 5, 31, 23, 59), True),
        (at(2024, 6, 1, 0, 0), False),
        (at(2024, 6, 2), False),
    ],
    ids=["day-before-start", "start-midnight", "start-day", "last-day", "expiry-day", "after"],
)
def test_consent_runs_from_start_day_until_expiry_day(moment: datetime, in_force: bool) -> None:
    assert (
        consent_in_force(starts_on=STARTS, expires_on=EXPIRES, revoked_at=None, at=moment)
        is in_force
    )


def test_consent_without_expiry_stays_in_force() -> None:
    assert consent_in_force(starts_on=STARTS, expires_on=None, revoked_at=None, at=at(2090, 1, 1))


@pytest.mark.parametrize(
    ("revoked_at", "in_force"),
    [
        (at(2024, 4, 1) - timedelta(seconds=1), False),
        (at(2024, 4, 1), False),
        (at(2024, 4, 1) + timedelta(seconds=1), True),
        (at(2024, 5, 1), True),
    ],
    ids=["revoked-before", "revoked-at-that-moment", "revoked-a-second-later", "revoked-later"],
)
def test_consent_stops_at_the_moment_of_revocation(revoked_at: datetime, in_force: bool) -> None:
    assert (
        consent_in_force(
            starts_on=STARTS, expires_on=EXPIRES, revoked_at=revoked_at, at=at(2024, 4, 1)
        )
        is in_force
    )


def test_consent_revoked_later_still_does_not_count_once_expired() -> None:
    assert not consent_in_force(
        starts_on=STARTS, expires_on=EXPIRES, revoked_at=at(2024, 9, 1), at=at(2024, 7, 1)
    )


def test_consent_revoked_later_does_not_count_before_its_start() -> None:
    assert not consent_in_force(
        starts_on=STARTS, expires_on=None, revoked_at=at(2024, 9, 1), at=at(2024, 2, 1)
    )


def test_consent_days_are_read_in_the_time_zone_of_the_moment_asked_about() -> None:
    local_start = datetime(2024, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))

    assert local_start.astimezone(UTC).date() == date(2024, 2, 29)
    assert consent_in_force(starts_on=STARTS, expires_on=None, revoked_at=None, at=local_start)
