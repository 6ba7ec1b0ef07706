"""Each figure against the hand-computed cohort of ``scenario.py``."""

from __future__ import annotations

import pytest

from services.reporting import domain
from services.reporting.operations.figures import Figures, Scope, compute
from tests.reporting.conftest import ReportingApi
from tests.reporting.scenario import PERIOD, TODAY, cohort

PERIOD_ = domain.Period(*PERIOD)


def figures(api: ReportingApi, scope: Scope) -> Figures:
    with api.runtime.database.read_session() as session:
        return compute(session, scope, PERIOD_, TODAY)


@pytest.fixture
def loaded(reporting: ReportingApi) -> ReportingApi:
    reporting.deliver(cohort())
    return reporting


def test_housing_first_figures_match_the_hand_computed_cohort(loaded: ReportingApi) -> None:
    result = figures(loaded, Scope("housing-first", None))
    assert result.people_in_care == 6 and result.registrations == 6
    # 1..6 days from registration to first assignment; plans approved after 10, 20 … 50 days
    assert result.registration_to_assignment == domain.Duration(6, 3.5)
    assert result.plan_approval == domain.Duration(5, 30.0)
    # r1 held before its day, r4 on it; r2 held late, r3 overdue; r5 falls due after the period
    assert result.reviews_on_time == domain.Rate(2, 4)
    assert result.referrals == {
        "housing-co": domain.PartnerFigures(
            sent=3,
            accepted=2,
            completed=1,
            rejected=1,
            rejection_reasons={"no-capacity": 1},
            to_acceptance=domain.Duration(2, 3.0),
        ),
        "therapy-co": domain.PartnerFigures(
            sent=1,
            accepted=0,
            completed=0,
            rejected=1,
            rejection_reasons={"client-declined": 1},
            to_acceptance=domain.Duration(0, None),
        ),
    }
    # f1 acknowledged after 10 minutes, f2 after 30, f3 never
    assert result.crisis_acknowledged == domain.Rate(1, 3)
    # PHQ-9 20->8, 15->4, 12->10, 8->2, 22->18 (e6 has a baseline only)
    assert result.outcomes["phq9"] == domain.OutcomeFigures(
        people=5,
        mean_baseline=15.4,
        mean_latest=8.4,
        mean_change=-7.0,
        reliable_improvement=domain.Rate(3, 5),
        response=domain.Rate(2, 4),
        remission=domain.Rate(1, 4),
    )
    assert result.outcomes["gad7"] == domain.OutcomeFigures(
        people=1,
        mean_baseline=14.0,
        mean_latest=6.0,
        mean_change=-8.0,
        reliable_improvement=domain.Rate(1, 1),
        response=domain.Rate(1, 1),
        remission=domain.Rate(0, 1),
    )
    # e3's discharge on 2 April is after the period
    assert result.discharges == {"goals-met": 2}


def test_caseload_against_cap_at_each_month_end(loaded: ReportingApi) -> None:
    points = {
        (p.on.isoformat(), p.case_manager_id): (p.clients, p.cap)
        for p in figures(loaded, Scope(None, None)).caseload
    }
    assert points == {
        ("2026-01-31", "cm-1"): (3, 30),
        ("2026-01-31", "cm-2"): (3, 30),
        ("2026-02-28", "cm-1"): (3, 30),
        ("2026-02-28", "cm-2"): (3, 30),
        ("2026-02-28", "cm-3"): (1, 30),
        # e1 and e2 discharged, e6 moved from cm-2 to cm-1 on 20 March
        ("2026-03-31", "cm-1"): (2, 30),
        ("2026-03-31", "cm-2"): (2, 30),
        ("2026-03-31", "cm-3"): (1, 30),
    }


def test_a_team_counts_only_its_episodes(loaded: ReportingApi) -> None:
    south = figures(loaded, Scope(None, frozenset({"south"})))
    assert south.registrations == 1
    assert south.registration_to_assignment == domain.Duration(1, 2.0)
    assert {p.case_manager_id for p in south.caseload} == {"cm-3"}
    every = figures(loaded, Scope(None, None))
    assert every.registrations == 7
    assert every.registration_to_assignment == domain.Duration(7, 3.0)
