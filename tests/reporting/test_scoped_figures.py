"""The figures computed from scoped SQL (``compute``) equal the whole-table reference
(``reference.py``: every row loaded, filtered in Python, fed to the ``domain`` functions) on a
generated cohort of several programmes and teams, for many scopes and periods, in UTC and in an
agency zone where day boundaries are not UTC's. This is where the queries that mirror a domain
rule (``in_care``, ``registrations``, ``discharges_by_reason``, ``outcome_pairs``,
``first_acknowledgement``, ``caseload_on``) are checked against it."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.reporting import domain
from services.reporting.models import (
    AcknowledgementFact,
    AssignmentFact,
    CrisisAlertFact,
    EpisodeFacts,
    ReferralFact,
    ReviewFact,
    ScoreFact,
    StaffMember,
)
from services.reporting.operations.figures import Scope, compute
from tests.reporting.conftest import ReportingApi
from tests.reporting.reference import reference_compute

TODAY = date(2026, 4, 15)
TEAMS = {"cm-1": "north", "cm-2": "north", "cm-3": "south", "cm-4": "south", "cm-5": "east"}
#: Assigned but unknown to the staff table: their episodes belong to no team.
MANAGERS = [*TEAMS, "cm-ghost"]
PROGRAMMES = ["housing-first", "act", "intensive", None, ""]
#: Period and month ends the moments crowd around (within hours, either side of midnight).
EDGES = [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)]
ZONES = ["UTC", "America/Chicago"]
PERIODS = [
    domain.Period(date(2026, 1, 1), date(2026, 3, 31)),
    domain.Period(date(2026, 2, 1), date(2026, 2, 28)),
    domain.Period(date(2025, 7, 1), date(2026, 12, 31)),
]
SCOPES = [
    Scope(None, None),
    Scope("housing-first", None),
    Scope(domain.UNSPECIFIED_PROGRAMME, None),
    Scope(None, frozenset({"north"})),
    Scope("act", frozenset({"south", "east"})),
    Scope(None, frozenset()),
]


class Moments:
    """Random instants from autumn 2025 to summer 2026, a third of them within hours of a
    period's or month's first midnight and some exactly on it (UTC's or Chicago's). Distinct
    within a series (an episode's assignments or scores, a client's registrations), where a tie
    would make "first" and "latest" ambiguous."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[tuple[str, datetime]] = set()

    def any(
        self, series: str | None = None, after: datetime | None = None, edges: float = 0.33
    ) -> datetime:
        while True:
            if self.rng.random() < edges:
                day = self.rng.choice(EDGES)
                midnights = [datetime.combine(day, time(), ZoneInfo(z)) for z in ZONES]
                moment = self.rng.choice(midnights).astimezone(UTC)
                if self.rng.random() < 0.5:
                    moment += timedelta(minutes=self.rng.randint(-720, 720))
            elif after is not None:
                moment = after + timedelta(minutes=self.rng.randint(1, 60 * 24 * 80))
            else:
                start = datetime(2025, 10, 1, tzinfo=UTC)
                moment = start + timedelta(minutes=self.rng.randint(0, 60 * 24 * 270))
            if after is not None and moment <= after:
                continue
            if series is None or (series, moment) not in self.used:
                self.used.add((series or "", moment))
                return moment


def cohort(seed: int) -> list[Any]:
    rng = random.Random(seed)
    moments = Moments(rng)
    rows: list[Any] = [
        StaffMember(
            case_manager_id=m,
            team=t,
            supervisor_id=f"sup-{t}",
            caseload_cap=20,
            active=True,
            version=1,
        )
        for m, t in TEAMS.items()
    ]
    maybe = lambda p, value: value if rng.random() < p else None  # noqa: E731
    for c in range(120):
        client = f"client-{c}"
        undated = False
        for k in range(rng.choice([0, 1, 1, 1, 2, 3])):
            episode = f"e{c}-{k}"
            registered = None if not undated and rng.random() < 0.05 else moments.any(client)
            undated = undated or registered is None
            anchor = registered or moments.any()
            rows.append(
                EpisodeFacts(
                    episode_id=episode,
                    client_id=client,
                    registered_at=registered,
                    programme=rng.choice(PROGRAMMES),
                    discharged_at=maybe(0.4, moments.any(after=anchor, edges=0.7)),
                    discharge_reason=rng.choice(["goals-met", "moved", "", None]),
                    first_plan_approved_at=maybe(0.7, moments.any(after=anchor)),
                )
            )
            at = anchor - timedelta(days=2)
            for _ in range(rng.choice([0, 1, 1, 2, 3])):
                at = moments.any(episode, at, edges=0.5)
                rows.append(
                    AssignmentFact(
                        event_id=f"a-{episode}-{at.isoformat()}",
                        episode_id=episode,
                        case_manager_id=rng.choice(MANAGERS),
                        assigned_at=at,
                    )
                )
            assessments: list[str] = []
            for n in range(rng.choice([0, 1, 2, 3, 4])):
                assessment = f"as-{episode}-{n}"
                replaces = rng.choice(assessments) if assessments and rng.random() < 0.2 else None
                assessments.append(assessment)
                for instrument in ("phq9", "gad7"):
                    if rng.random() < 0.8:
                        rows.append(
                            ScoreFact(
                                assessment_id=assessment,
                                supersedes_assessment_id=replaces,
                                episode_id=episode,
                                instrument=instrument,
                                total=rng.randint(0, 27 if instrument == "phq9" else 21),
                                taken_at=moments.any(f"{episode}-{instrument}"),
                            )
                        )
            for n in range(rng.choice([0, 1, 2])):
                rows.append(
                    ReviewFact(
                        review_id=f"r-{episode}-{n}",
                        episode_id=maybe(0.95, episode),
                        due_on=maybe(0.95, moments.any().date()),
                        held_at=maybe(0.6, moments.any()),
                    )
                )
            if rng.random() < 0.3:
                # Held at the very end of the due day (late) and a second before it (on time),
                # in the zone under test; due today and not held (not counted), due yesterday
                # and not held (late).
                due = rng.choice(EDGES) - timedelta(days=1)
                end = domain.day_start(due + timedelta(days=1))
                for n, (due_on, held_at) in enumerate(
                    [
                        (due, end),
                        (due, end - timedelta(seconds=1)),
                        (TODAY, None),
                        (TODAY - timedelta(days=1), None),
                    ]
                ):
                    rows.append(
                        ReviewFact(
                            review_id=f"r-{episode}-edge-{n}",
                            episode_id=episode,
                            due_on=due_on,
                            held_at=held_at,
                        )
                    )
            for n in range(rng.choice([0, 0, 1, 2])):
                flagged = moments.any()
                rows.append(
                    CrisisAlertFact(
                        flag_id=f"f-{episode}-{n}",
                        episode_id=episode,
                        client_id=client,
                        level="high",
                        flagged_at=flagged,
                    )
                )
                for minutes in rng.sample([-30, 5, 14, 15, 16, 40], k=rng.randint(0, 2)):
                    rows.append(
                        AcknowledgementFact(
                            notification_id=f"n-{episode}-{n}-{minutes}",
                            client_id=client,
                            acknowledged_at=flagged + timedelta(minutes=minutes, seconds=n),
                        )
                    )
        for n in range(rng.choice([0, 1, 2])):
            sent = maybe(0.9, moments.any())
            answered = moments.any(after=sent) if sent else None
            accepted = rng.random() < 0.5
            rows.append(
                ReferralFact(
                    referral_id=f"ref-{client}-{n}",
                    client_id=client,
                    organization_id=rng.choice(["housing-co", "therapy-co", "food-bank"]),
                    sent_at=sent,
                    accepted_at=answered if accepted else None,
                    completed_at=maybe(0.5, moments.any(after=answered))
                    if accepted and answered
                    else None,
                    rejected_at=None if accepted else answered,
                    rejection_reason=None if accepted else rng.choice(["no-capacity", "", None]),
                )
            )
    # An assignment whose episode the read model has not seen (its registration still to come).
    rows.append(
        AssignmentFact(
            event_id="a-orphan",
            episode_id="e-unseen",
            case_manager_id="cm-1",
            assigned_at=datetime(2026, 1, 15, 12, tzinfo=UTC),
        )
    )
    return rows


@pytest.mark.parametrize("zone", ZONES)
def test_scoped_figures_equal_the_whole_table_reference(
    reporting: ReportingApi, monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    monkeypatch.setenv("CASEHUB_TIMEZONE", zone)
    with reporting.runtime.unit_of_work() as uow:
        uow.session.add_all(cohort(seed=20))
    compared = 0
    with reporting.runtime.database.read_session() as session:
        for scope in SCOPES:
            for period in PERIODS:
                scoped = compute(session, scope, period, TODAY)
                assert scoped == reference_compute(session, scope, period, TODAY), (scope, period)
                compared += bool(scoped.registrations or scoped.caseload)
    # The cohort is not empty where it matters: most comparisons have something to count.
    assert compared >= 12
    with reporting.runtime.database.read_session() as session:
        every = compute(session, Scope(None, None), PERIODS[0], TODAY)
    assert every.people_in_care > 50 and every.caseload and every.referrals
    assert every.outcomes["phq9"].people > 5 and every.crisis_acknowledged.out_of > 5


def test_the_funder_report_leaves_the_caseload_out(reporting: ReportingApi) -> None:
    with reporting.runtime.unit_of_work() as uow:
        uow.session.add_all(cohort(seed=21))
    with reporting.runtime.database.read_session() as session:
        full = compute(session, Scope(None, None), PERIODS[0], TODAY)
        lean = compute(session, Scope(None, None), PERIODS[0], TODAY, with_caseload=False)
    assert full.caseload and lean.caseload == []
    assert lean == type(full)(**{**full.__dict__, "caseload": []})
