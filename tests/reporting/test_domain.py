"""The figure definitions and the small-cell rule as plain functions (no servers)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from services.reporting import domain
from services.reporting.domain import SUPPRESSED, Period, Rate


def moment(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("people", "shown"), [(0, 0), (1, SUPPRESSED), (4, SUPPRESSED), (5, 5), (120, 120)]
)
def test_counts_of_one_to_four_people_are_suppressed(people: int, shown: object) -> None:
    assert domain.suppress(people) == shown


def test_a_total_that_would_reveal_a_hidden_cell_is_hidden_too() -> None:
    assert domain.suppress_breakdown({"goals-met": 9, "moved": 2}) == (
        {"goals-met": 9, "moved": SUPPRESSED},
        SUPPRESSED,
    )
    assert domain.suppress_breakdown({"goals-met": 9, "moved": 6}) == (
        {"goals-met": 9, "moved": 6},
        15,
    )
    assert domain.suppress_breakdown({}) == ({}, 0)


@pytest.mark.parametrize(
    ("rate", "shown"),
    [
        (Rate(6, 12), {"people": 6, "out_of": 12, "share": 0.5}),
        (Rate(2, 4), {"people": SUPPRESSED, "out_of": SUPPRESSED, "share": None}),
        (Rate(3, 20), {"people": SUPPRESSED, "out_of": 20, "share": None}),
        # 18 of 20: the 2 not counted could be worked back from the share
        (Rate(18, 20), {"people": SUPPRESSED, "out_of": 20, "share": None}),
        (Rate(0, 10), {"people": 0, "out_of": 10, "share": 0.0}),
        (Rate(0, 0), {"people": 0, "out_of": 0, "share": None}),
    ],
)
def test_a_share_is_withheld_when_either_side_is_a_small_cell(
    rate: Rate, shown: dict[str, object]
) -> None:
    assert domain.suppress_rate(rate) == shown


def test_a_median_over_fewer_than_five_people_is_withheld() -> None:
    assert domain.suppress_duration(domain.duration([1, 2, 3])) == {
        "people": SUPPRESSED,
        "median_days": None,
    }
    assert domain.suppress_duration(domain.duration([1, 2, 3, 4, 10])) == {
        "people": 5,
        "median_days": 3,
    }


def test_periods_include_both_ends_by_the_agency_day() -> None:
    period = Period(date(2026, 1, 1), date(2026, 1, 31))
    assert moment("2026-01-01", 0) in period and moment("2026-01-31", 23) in period
    assert moment("2025-12-31", 23) not in period and moment("2026-02-01", 0) not in period


def test_caseload_is_sampled_at_each_month_end_and_the_last_day() -> None:
    assert domain.month_ends(Period(date(2026, 1, 15), date(2026, 3, 10))) == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 10),
    ]


def test_caseload_counts_the_latest_assignment_until_discharge() -> None:
    assignments = [
        domain.Assignment("e1", "cm-1", moment("2026-01-02")),
        domain.Assignment("e1", "cm-2", moment("2026-02-02")),
        domain.Assignment("e2", "cm-1", moment("2026-01-05")),
    ]
    discharged = {"e2": moment("2026-01-20")}
    assert domain.caseload_on(assignments, discharged, date(2026, 1, 10)) == {"cm-1": 2}
    assert domain.caseload_on(assignments, discharged, date(2026, 1, 31)) == {"cm-1": 1}
    assert domain.caseload_on(assignments, discharged, date(2026, 2, 28)) == {"cm-2": 1}


def test_outcomes_need_a_baseline_and_a_later_score_in_the_period() -> None:
    period = Period(date(2026, 3, 1), date(2026, 3, 31))
    scores = [
        domain.Score("e1", "phq9", 24, moment("2026-01-10")),
        domain.Score("e1", "phq9", 11, moment("2026-03-10")),  # drop 13: reliable, response
        domain.Score("e2", "phq9", 9, moment("2026-03-02")),  # baseline only
        domain.Score("e3", "phq9", 14, moment("2026-01-10")),
        domain.Score("e3", "phq9", 4, moment("2026-02-10")),  # latest before the period
        domain.Score("e4", "gad7", 15, moment("2026-01-10")),
        domain.Score("e4", "gad7", 3, moment("2026-03-10")),
    ]
    phq9 = domain.outcomes(scores, domain.PHQ9, period)
    assert (phq9.people, phq9.mean_change) == (1, -13.0)
    assert (phq9.response, phq9.remission) == (Rate(1, 1), Rate(0, 1))
    gad7 = domain.outcomes(scores, domain.GAD7, period)
    assert (gad7.reliable_improvement, gad7.remission) == (Rate(1, 1), Rate(1, 1))


def test_a_crisis_alert_is_in_time_when_acknowledged_within_fifteen_minutes() -> None:
    flagged = moment("2026-01-10")
    acknowledgements = [moment("2026-01-09"), flagged.replace(minute=15)]
    assert domain.first_acknowledgement(flagged, acknowledgements) == flagged.replace(minute=15)
    period = Period(date(2026, 1, 1), date(2026, 1, 31))
    alerts = [
        domain.CrisisAlert(flagged, flagged.replace(minute=15)),
        domain.CrisisAlert(flagged, flagged.replace(minute=16)),
        domain.CrisisAlert(flagged, None),
    ]
    assert domain.crisis_acknowledged_in_time(alerts, period) == Rate(1, 3)


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 10])
def test_a_duration_from_its_two_middle_values_is_the_median_of_all(count: int) -> None:
    """What PostgreSQL sends for a duration (the count, the lower and the upper middle value)
    gives the very median ``duration`` takes of every value, odd counts and even, rounding
    included."""
    rng = random.Random(count)
    values = [timedelta(minutes=rng.randint(0, 60 * 24 * 90)) for _ in range(count)]
    ordered = sorted(values)
    lower, upper = ordered[(count - 1) // 2], ordered[count // 2]
    assert domain.duration_from_middles(count, lower, upper) == domain.duration(
        value.total_seconds() / 86400 for value in values
    )
    assert domain.duration_from_middles(0, None, None) == domain.duration([])
