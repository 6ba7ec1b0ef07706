"""Properties of the clinical scoring and risk rules, over every answer set hypothesis can find:
totals are sums, bands rise with the total, the riskiest answer sets the level, and an answer
the instrument does not allow is refused naming the item, never scored."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.intake.domain import (
    LIFE_DOMAINS,
    CssrsAnswers,
    InstrumentItemError,
    NeedRating,
    RiskLevel,
    Severity,
    assess_risk,
    max_risk,
    opens_risk_flag,
    score_cssrs_screener,
    score_gad7,
    score_phq9,
    unmet_needs,
)

SEVERITY_ORDER = list(Severity)
#: The published cut-offs (Kroenke 2001; Spitzer 2006), written out here as an independent oracle.
PHQ9_BANDS = (
    (20, "severe"),
    (15, "moderately_severe"),
    (10, "moderate"),
    (5, "mild"),
    (0, "minimal"),
)
GAD7_BANDS = ((15, "severe"), (10, "moderate"), (5, "mild"), (0, "minimal"))
reproducible = settings(max_examples=150, derandomize=True, database=None, deadline=None)

answer = st.integers(min_value=0, max_value=3)
phq9_items = st.lists(answer, min_size=9, max_size=9)
gad7_items = st.lists(answer, min_size=7, max_size=7)
not_an_answer = st.one_of(
    st.integers(max_value=-1),
    st.integers(min_value=4),
    st.booleans(),
    st.floats(allow_nan=True),
    st.text(max_size=3),
    st.none(),
    st.lists(answer, max_size=2),
)


@st.composite
def cssrs_answers(draw: st.DrawFn) -> CssrsAnswers:
    """Answer sets administered as designed: follow-ups only when their gate question is yes."""
    thoughts = draw(st.booleans())
    follow_up = st.booleans() if thoughts else st.none()
    behaviour = draw(st.booleans())
    return CssrsAnswers(
        wish_to_be_dead=draw(st.booleans()),
        suicidal_thoughts=thoughts,
        method=draw(follow_up),
        intent=draw(follow_up),
        plan_with_intent=draw(follow_up),
        behaviour_ever=behaviour,
        behaviour_past_3_months=draw(st.booleans() if behaviour else st.none()),
    )


def _severity_rank(severity: Severity) -> int:
    return SEVERITY_ORDER.index(severity)


@pytest.mark.parametrize(
    ("scorer", "items", "bands"),
    [(score_phq9, phq9_items, PHQ9_BANDS), (score_gad7, gad7_items, GAD7_BANDS)],
    ids=["phq9", "gad7"],
)
def test_total_is_the_sum_and_the_band_is_the_one_the_total_falls_in(
    scorer: Any, items: Any, bands: Any
) -> None:
    @reproducible
    @given(answers=items)
    def check(answers: list[int]) -> None:
        score = scorer(answers)
        assert score.total == sum(answers)
        assert score.severity == next(band for low, band in bands if score.total >= low)

    check()


@pytest.mark.parametrize(
    ("scorer", "items"), [(score_phq9, phq9_items), (score_gad7, gad7_items)], ids=["phq9", "gad7"]
)
def test_answering_higher_never_lowers_the_severity(scorer: Any, items: Any) -> None:
    @reproducible
    @given(answers=items, data=st.data())
    def check(answers: list[int], data: st.DataObject) -> None:
        position = data.draw(st.integers(0, len(answers) - 1))
        raised = [*answers]
        raised[position] = data.draw(st.integers(answers[position], 3))
        before, after = scorer(answers), scorer(raised)
        assert after.total >= before.total
        assert _severity_rank(after.severity) >= _severity_rank(before.severity)

    check()


@reproducible
@given(answers=phq9_items)
def test_phq9_item_9_alone_decides_follow_up_and_makes_risk_at_least_moderate(
    answers: list[int],
) -> None:
    score = score_phq9(answers)
    assert score.item_9 == answers[8]
    assert score.needs_immediate_follow_up == (answers[8] > 0)
    risk = assess_risk(score, None)
    assert (risk.level == RiskLevel.MODERATE) == (answers[8] > 0)
    assert (risk.level == RiskLevel.NONE) == (answers[8] == 0)
    assert risk.cssrs_screen_needed == (answers[8] > 0)


@pytest.mark.parametrize(
    ("scorer", "count", "instrument"), [(score_phq9, 9, "phq9"), (score_gad7, 7, "gad7")]
)
def test_an_answer_the_instrument_does_not_allow_is_refused_naming_the_item(
    scorer: Any, count: int, instrument: str
) -> None:
    @reproducible
    @given(answers=st.lists(answer, min_size=count, max_size=count), data=st.data())
    def check(answers: list[Any], data: st.DataObject) -> None:
        position = data.draw(st.integers(0, count - 1))
        answers[position] = data.draw(not_an_answer)
        with pytest.raises(InstrumentItemError) as refused:
            scorer(answers)
        assert refused.value.instrument == instrument
        assert refused.value.item == f"item_{position + 1}"

    check()


@pytest.mark.parametrize(("scorer", "count"), [(score_phq9, 9), (score_gad7, 7)])
def test_a_wrong_number_of_answers_is_refused(scorer: Any, count: int) -> None:
    @reproducible
    @given(answers=st.lists(answer, max_size=20).filter(lambda a: len(a) != count))
    def check(answers: list[int]) -> None:
        with pytest.raises(InstrumentItemError) as refused:
            scorer(answers)
        assert refused.value.item == "items"

    check()


@reproducible
@given(answers=cssrs_answers())
def test_cssrs_level_is_set_by_the_riskiest_yes_and_its_reasons_are_at_that_level(
    answers: CssrsAnswers,
) -> None:
    result = score_cssrs_screener(answers)
    recent = answers.behaviour_ever and answers.behaviour_past_3_months
    if answers.intent or answers.plan_with_intent or recent:
        assert result.level == RiskLevel.HIGH
    elif answers.method or answers.behaviour_ever:
        assert result.level == RiskLevel.MODERATE
    elif answers.wish_to_be_dead or answers.suicidal_thoughts:
        assert result.level == RiskLevel.LOW
    else:
        assert result.level == RiskLevel.NONE
    assert (result.level == RiskLevel.NONE) == (result.reasons == ())
    assert all(reason.startswith("C-SSRS Q") for reason in result.reasons)


@reproducible
@given(answers=cssrs_answers(), data=st.data())
def test_one_more_yes_on_the_cssrs_never_lowers_the_level(
    answers: CssrsAnswers, data: st.DataObject
) -> None:
    fields = [
        name
        for name in ("wish_to_be_dead", "method", "intent", "plan_with_intent")
        if getattr(answers, name) is False
    ]
    if answers.behaviour_ever and answers.behaviour_past_3_months is False:
        fields.append("behaviour_past_3_months")
    if not fields:
        return
    flipped = data.draw(st.sampled_from(fields))
    more = CssrsAnswers(**{**vars(answers), flipped: True})
    assert score_cssrs_screener(more).level >= score_cssrs_screener(answers).level


@reproducible
@given(answers=cssrs_answers(), data=st.data())
def test_a_cssrs_answer_out_of_turn_is_refused_naming_the_question(
    answers: CssrsAnswers, data: st.DataObject
) -> None:
    """Skip logic is part of the instrument: a follow-up answered when its gate said no, or left
    out when it said yes, means the screener was not administered as designed."""
    follow_ups = {
        "method": "q3_method",
        "intent": "q4_intent",
        "plan_with_intent": "q5_plan_with_intent",
    }
    name = data.draw(st.sampled_from(sorted(follow_ups)))
    broken = CssrsAnswers(
        **{**vars(answers), name: None if answers.suicidal_thoughts else data.draw(st.booleans())}
    )
    with pytest.raises(InstrumentItemError) as refused:
        score_cssrs_screener(broken)
    assert refused.value.item == follow_ups[name]


@reproducible
@given(phq9=st.none() | phq9_items.map(score_phq9), cssrs=st.none() | cssrs_answers())
def test_combined_risk_is_the_highest_contributor_and_keeps_every_reason(
    phq9: Any, cssrs: CssrsAnswers | None
) -> None:
    scored = score_cssrs_screener(cssrs) if cssrs is not None else None
    risk = assess_risk(phq9, scored)
    contributions = [RiskLevel.MODERATE] if phq9 is not None and phq9.item_9 > 0 else []
    contributions += [scored.level] if scored is not None else []
    assert risk.level == max_risk(*contributions)
    assert set(scored.reasons if scored else ()) <= set(risk.reasons)
    assert opens_risk_flag(risk.level) == (risk.level >= RiskLevel.MODERATE)
    assert risk.cssrs_screen_needed == (scored is None and phq9 is not None and phq9.item_9 > 0)


@reproducible
@given(levels=st.lists(st.sampled_from(list(RiskLevel))))
def test_max_risk_orders_by_severity_not_by_spelling(levels: list[RiskLevel]) -> None:
    highest = max_risk(*levels)
    assert all(level <= highest for level in levels)
    assert highest == (max(levels, key=lambda level: level.rank) if levels else RiskLevel.NONE)


@reproducible
@given(ratings=st.dictionaries(st.sampled_from(LIFE_DOMAINS), st.sampled_from(list(NeedRating))))
def test_unmet_needs_are_exactly_the_domains_rated_unmet_in_life_domain_order(
    ratings: dict[str, NeedRating],
) -> None:
    unmet = unmet_needs(ratings)
    assert set(unmet) == {d for d, rating in ratings.items() if rating is NeedRating.UNMET_NEED}
    assert unmet == sorted(unmet, key=LIFE_DOMAINS.index)


@reproducible
@given(
    ratings=st.dictionaries(st.sampled_from(LIFE_DOMAINS), st.sampled_from(list(NeedRating))),
    stranger=st.text(min_size=1).filter(lambda d: d not in LIFE_DOMAINS),
)
def test_an_unknown_life_domain_is_refused_not_dropped(
    ratings: dict[str, NeedRating], stranger: str
) -> None:
    with pytest.raises(InstrumentItemError) as refused:
        unmet_needs({**ratings, stranger: NeedRating.UNMET_NEED})
    assert refused.value.item == stranger
