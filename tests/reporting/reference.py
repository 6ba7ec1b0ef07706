"""The figures as ``compute`` worked them out before its queries were scoped in SQL: every row of
the read model loaded and filtered in Python, then fed to the same ``domain`` functions. Kept as
the reference the scoped queries must agree with (test_scoped_figures.py); too slow for real
use at scale (356 s at 500,000 episodes)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

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
from services.reporting.operations.caseload import CaseloadPoint
from services.reporting.operations.figures import Figures, Scope


def _episodes(session: Session) -> tuple[list[domain.Episode], list[domain.Assignment]]:
    staff_team = dict(session.execute(select(StaffMember.case_manager_id, StaffMember.team)).all())
    assignments = [
        domain.Assignment(a.episode_id, a.case_manager_id, a.assigned_at)
        for a in session.scalars(select(AssignmentFact))
    ]
    by_episode: dict[str, list[domain.Assignment]] = defaultdict(list)
    for assignment in assignments:
        by_episode[assignment.episode_id].append(assignment)
    episodes = []
    for row in session.scalars(select(EpisodeFacts)):
        history = sorted(by_episode.get(row.episode_id, []), key=lambda a: a.assigned_at)
        episodes.append(
            domain.Episode(
                episode_id=row.episode_id,
                programme=row.programme or domain.UNSPECIFIED_PROGRAMME,
                team=staff_team.get(history[-1].case_manager_id) if history else None,
                registered_at=row.registered_at,
                first_assigned_at=history[0].assigned_at if history else None,
                first_plan_approved_at=row.first_plan_approved_at,
                discharged_at=row.discharged_at,
                discharge_reason=row.discharge_reason,
            )
        )
    return episodes, assignments


def _in_scope(episode: domain.Episode, scope: Scope) -> bool:
    return (scope.programme is None or episode.programme == scope.programme) and (
        scope.teams is None or episode.team in scope.teams
    )


def _client_episode(
    client_episodes: dict[str, list[tuple[datetime | None, str]]], client_id: str, at: datetime
) -> str | None:
    """The client's episode that was open at ``at``: the latest registered by then."""
    candidates = sorted(client_episodes.get(client_id, []), key=lambda c: (c[0] is not None, c[0]))
    chosen = [episode for opened, episode in candidates if opened is None or opened <= at]
    return chosen[-1] if chosen else (candidates[-1][1] if candidates else None)


def _caseload(
    session: Session,
    assignments: list[domain.Assignment],
    episodes: list[domain.Episode],
    scope: Scope,
    period: domain.Period,
) -> list[CaseloadPoint]:
    """The whole caseload of each case manager in scope (whatever the programme: the cap is for
    all of it), at each month end of the period."""
    staff = {s.case_manager_id: s for s in session.scalars(select(StaffMember))}
    discharged = {e.episode_id: e.discharged_at for e in episodes if e.discharged_at}
    points = []
    for on in domain.month_ends(period):
        counts = domain.caseload_on(assignments, discharged, on)
        for manager, clients in sorted(counts.items()):
            member = staff.get(manager)
            team = member.team if member else None
            if scope.teams is None or team in scope.teams:
                points.append(
                    CaseloadPoint(
                        on, manager, team, clients, member.caseload_cap if member else None
                    )
                )
    return points


def reference_compute(
    session: Session, scope: Scope, period: domain.Period, today: date
) -> Figures:
    """Every figure from whole tables filtered in Python (the pre-SQL ``compute``)."""
    episodes, assignments = _episodes(session)
    scoped = {e.episode_id: e for e in episodes if _in_scope(e, scope)}
    client_episodes: dict[str, list[tuple[datetime | None, str]]] = defaultdict(list)
    for row in session.execute(
        select(EpisodeFacts.client_id, EpisodeFacts.registered_at, EpisodeFacts.episode_id)
    ):
        client_episodes[row.client_id].append((row.registered_at, row.episode_id))

    scores = [
        domain.Score(s.episode_id, s.instrument, s.total, s.taken_at)
        for s in session.scalars(select(ScoreFact))
        if s.episode_id in scoped
    ]
    superseded = set(
        session.scalars(
            select(ScoreFact.supersedes_assessment_id).where(
                ScoreFact.supersedes_assessment_id.is_not(None)
            )
        )
    )
    if superseded:
        kept = {
            (s.episode_id, s.instrument, s.taken_at)
            for s in session.scalars(
                select(ScoreFact).where(ScoreFact.assessment_id.not_in(superseded))
            )
        }
        scores = [s for s in scores if (s.episode_id, s.instrument, s.taken_at) in kept]
    reviews = [
        domain.Review(r.due_on, r.held_at)
        for r in session.scalars(select(ReviewFact))
        if r.due_on is not None and r.episode_id in scoped
    ]
    referrals = [
        domain.Referral(
            r.organization_id,
            r.sent_at,
            r.accepted_at,
            r.completed_at,
            r.rejected_at,
            r.rejection_reason,
        )
        for r in session.scalars(select(ReferralFact))
        if r.sent_at is not None
        and _client_episode(client_episodes, r.client_id, r.sent_at) in scoped
    ]
    acknowledgements: dict[str, list[datetime]] = defaultdict(list)
    for ack in session.scalars(select(AcknowledgementFact)):
        acknowledgements[ack.client_id].append(ack.acknowledged_at)
    alerts = [
        domain.CrisisAlert(
            a.flagged_at, domain.first_acknowledgement(a.flagged_at, acknowledgements[a.client_id])
        )
        for a in session.scalars(select(CrisisAlertFact))
        if a.episode_id in scoped
    ]
    return Figures(
        period=period,
        scope=scope,
        people_in_care=domain.in_care(scoped.values(), period),
        registrations=domain.registrations(scoped.values(), period),
        caseload=_caseload(session, assignments, episodes, scope, period),
        registration_to_assignment=domain.registration_to_assignment(scoped.values(), period),
        plan_approval=domain.days_to_plan_approval(scoped.values(), period),
        reviews_on_time=domain.reviews_on_time(reviews, period, today),
        referrals=domain.referrals_by_partner(referrals, period),
        crisis_acknowledged=domain.crisis_acknowledged_in_time(alerts, period),
        outcomes={
            name: domain.outcomes(scores, instrument, period)
            for name, instrument in domain.INSTRUMENTS.items()
        },
        discharges=domain.discharges_by_reason(scoped.values(), period),
    )
