"""Caseload per case manager against their cap at month ends, counted in the database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from services.reporting import domain
from services.reporting.models import AssignmentFact, EpisodeFacts, StaffMember
from services.reporting.operations import queries
from services.reporting.operations.queries import Scope


@dataclass(frozen=True)
class CaseloadPoint:
    on: date
    case_manager_id: str
    team: str | None
    clients: int
    cap: int | None


def caseload_points(session: Session, scope: Scope, period: domain.Period) -> list[CaseloadPoint]:
    """The whole caseload of each case manager in scope (whatever the programme: the cap is for
    all of it), at each month end of the period."""
    members = select(StaffMember)
    if scope.teams is not None:
        members = members.where(StaffMember.team.in_(sorted(scope.teams)))
    staff = {s.case_manager_id: s for s in session.scalars(members)}
    points = []
    for on, manager, clients in sorted(caseloads(session, scope.teams, domain.month_ends(period))):
        member = staff.get(manager)
        team = member.team if member else None
        points.append(
            CaseloadPoint(on, manager, team, clients, member.caseload_cap if member else None)
        )
    return points


def caseloads(
    session: Session, teams: frozenset[str] | None, on: Sequence[date]
) -> list[tuple[date, str, int]]:
    """(day, case manager, clients) at the end of each day of ``on`` for the case managers of
    ``teams`` (all when None): mirrors ``domain.caseload_on``. An assignment counts from its
    day until the day of the episode's next assignment or discharge."""
    bounds = [domain.day_start(day + timedelta(days=1)) for day in on]
    if not bounds:
        return []
    following = func.lead(AssignmentFact.assigned_at).over(
        partition_by=AssignmentFact.episode_id,
        order_by=(AssignmentFact.assigned_at, AssignmentFact.event_id),
    )
    spans = select(
        AssignmentFact.case_manager_id.label("manager"),
        AssignmentFact.assigned_at.label("start"),
        following.label("until"),
        EpisodeFacts.discharged_at.label("discharged"),
    ).outerjoin(EpisodeFacts, EpisodeFacts.episode_id == AssignmentFact.episode_id)
    # An assignment after the last day never counts, and as the next one it ends a span no
    # earlier than the day after: leaving it out changes no count.
    spans = spans.where(AssignmentFact.assigned_at < max(bounds))
    if teams is not None:
        managers = queries.managers_of(teams)
        touched = select(AssignmentFact.episode_id).where(
            AssignmentFact.case_manager_id.in_(managers)
        )
        spans = spans.where(AssignmentFact.episode_id.in_(touched))
    span = spans.subquery()

    def carried_at(bound: datetime) -> ColumnElement[int]:
        """1 when the span holds the episode at the end of the day before ``bound``."""
        held = and_(
            span.c.start < bound,
            or_(span.c.until.is_(None), span.c.until >= bound),
            or_(span.c.discharged.is_(None), span.c.discharged >= bound),
        )
        return func.count(case((held, 1)))

    # One pass over the spans, a count per day (rather than joining each span to each day).
    query = select(span.c.manager, *(carried_at(bound) for bound in bounds)).group_by(
        span.c.manager
    )
    if teams is not None:
        query = query.where(span.c.manager.in_(queries.managers_of(teams)))
    return [
        (day, manager, int(clients))
        for manager, *counts in session.execute(query)
        for day, clients in zip(on, counts, strict=True)
        if clients
    ]
