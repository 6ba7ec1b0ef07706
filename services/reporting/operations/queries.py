"""The read-model rows a report needs, chosen in the database: the episodes in scope and the
facts of the period, never whole tables (a funder report at 500,000 episodes loaded them all and
took minutes). Counting and picking follow the figures' rules in ``domain``; a query that
applies such a rule says which function it mirrors, and tests/reporting/test_scoped_figures.py
checks that both agree on a generated cohort.

A period is compared as instants (``Period.instants``): ``first <= moment < after`` is the same
test as the agency date of the moment falling in the period, and it can use an index.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Select,
    Subquery,
    and_,
    case,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from services.reporting import domain
from services.reporting.models import (
    AcknowledgementFact,
    AssignmentFact,
    CrisisAlertFact,
    EpisodeFacts,
    ReviewFact,
    ScoreFact,
    StaffMember,
)


@dataclass(frozen=True)
class Scope:
    """Which episodes a figure counts: one programme or all, some teams or all (None)."""

    programme: str | None
    teams: frozenset[str] | None


def between(column: ColumnElement[datetime], period: domain.Period) -> ColumnElement[bool]:
    first, after = period.instants()
    return and_(column >= first, column < after)


def _latest_manager() -> ScalarSelect[str]:
    """The case manager of the episode's latest assignment: their team is the episode's."""
    latest = aliased(AssignmentFact)
    return (
        select(latest.case_manager_id)
        .where(latest.episode_id == EpisodeFacts.episode_id)
        .order_by(latest.assigned_at.desc(), latest.event_id.desc())
        .limit(1)
        .scalar_subquery()
    )


def managers_of(teams: frozenset[str]) -> Select[tuple[str]]:
    return select(StaffMember.case_manager_id).where(StaffMember.team.in_(sorted(teams)))


def in_scope(scope: Scope) -> list[ColumnElement[bool]]:
    """Conditions on ``episodes`` for the scope: the programme (none stated counts as
    ``domain.UNSPECIFIED_PROGRAMME``), and the team of the latest assignment's case manager."""
    conditions: list[ColumnElement[bool]] = []
    if scope.programme == domain.UNSPECIFIED_PROGRAMME:
        conditions.append(
            or_(EpisodeFacts.programme.is_(None), EpisodeFacts.programme.in_(["", scope.programme]))
        )
    elif scope.programme is not None:
        conditions.append(EpisodeFacts.programme == scope.programme)
    if scope.teams is not None:
        conditions.append(_latest_manager().in_(managers_of(scope.teams)))
    return conditions


def scoped_ids(scope: Scope) -> Select[tuple[str]]:
    return select(EpisodeFacts.episode_id).where(*in_scope(scope))


def episode_counts(session: Session, scope: Scope, period: domain.Period) -> tuple[int, int]:
    """People in care and registrations: mirrors ``domain.in_care`` and
    ``domain.registrations``."""
    first, after = period.instants()
    registered, discharged = EpisodeFacts.registered_at, EpisodeFacts.discharged_at
    in_care = and_(registered < after, or_(discharged.is_(None), discharged >= first))
    row = session.execute(
        select(
            func.count(case((in_care, 1))),
            func.count(case((between(registered, period), 1))),
        ).where(*in_scope(scope))
    ).one()
    return int(row[0]), int(row[1])


def discharges(session: Session, scope: Scope, period: domain.Period) -> dict[str, int]:
    """Discharges in the period by reason: mirrors ``domain.discharges_by_reason``."""
    reason = func.coalesce(func.nullif(EpisodeFacts.discharge_reason, ""), "unstated")
    rows = session.execute(
        select(reason, func.count())
        .where(*in_scope(scope), between(EpisodeFacts.discharged_at, period))
        .group_by(reason)
    )
    return dict(sorted((str(r), int(n)) for r, n in rows))


def first_assignments(scope: Scope) -> Subquery:
    """Each scoped episode's first assignment (``episode_id``, ``at``)."""
    return (
        select(
            AssignmentFact.episode_id.label("episode_id"),
            func.min(AssignmentFact.assigned_at).label("at"),
        )
        .where(AssignmentFact.episode_id.in_(scoped_ids(scope)))
        .group_by(AssignmentFact.episode_id)
        .subquery()
    )


def timed_query(
    columns: Sequence[ColumnElement[Any]],
    first_assigned: Subquery,
    scope: Scope,
    period: domain.Period,
) -> Select[Any]:
    """``columns`` of the episodes first assigned, or with a plan first approved, in the period
    (``first_assigned``: ``first_assignments(scope)``, which the columns may name)."""
    return (
        select(*columns)
        .select_from(EpisodeFacts)
        .outerjoin(first_assigned, first_assigned.c.episode_id == EpisodeFacts.episode_id)
        .where(
            *in_scope(scope),
            EpisodeFacts.registered_at.is_not(None),
            or_(
                between(first_assigned.c.at, period),
                between(EpisodeFacts.first_plan_approved_at, period),
            ),
        )
    )


def timed_episodes(session: Session, scope: Scope, period: domain.Period) -> list[domain.Episode]:
    """Episodes first assigned, or with a plan first approved, in the period, with only the
    dates the two duration figures read (registration, first assignment, first approved plan;
    the rest, ids included, is left empty: the scope was applied here)."""
    first_assigned = first_assignments(scope)
    query = timed_query(
        [EpisodeFacts.registered_at, first_assigned.c.at, EpisodeFacts.first_plan_approved_at],
        first_assigned,
        scope,
        period,
    )
    return [
        domain.Episode("", "", None, registered, assigned, approved, None, None)
        for registered, assigned, approved in session.connection().execute(query)
    ]


def outcome_pairs(
    session: Session, scope: Scope, period: domain.Period
) -> dict[str, Counter[tuple[int, int]]]:
    """Per instrument, the (baseline, latest) totals of the scoped episodes and how many have
    each: mirrors ``domain.outcome_pairs`` (scores of a superseded assessment left out)."""
    _, after = period.instants()
    replacement = aliased(ScoreFact)
    series = (ScoreFact.episode_id, ScoreFact.instrument)
    # One pass over each series in time order: every score with the series' first total, its
    # place and the series' length; the last score of each series is the row kept.
    in_order = {"partition_by": series, "order_by": (ScoreFact.taken_at, ScoreFact.id)}
    ranked = (
        select(
            ScoreFact.instrument,
            ScoreFact.total,
            ScoreFact.taken_at,
            func.first_value(ScoreFact.total).over(**in_order).label("baseline"),
            func.row_number().over(**in_order).label("position"),
            func.count().over(partition_by=series).label("scores"),
        )
        .where(
            ScoreFact.episode_id.in_(scoped_ids(scope)),
            ScoreFact.instrument.in_(sorted(domain.INSTRUMENTS)),
            ScoreFact.taken_at < after,
            ~exists().where(
                replacement.supersedes_assessment_id.is_not(None),
                replacement.supersedes_assessment_id == ScoreFact.assessment_id,
            ),
        )
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.instrument, ranked.c.baseline, ranked.c.total, func.count())
        .where(
            ranked.c.position == ranked.c.scores,
            ranked.c.scores >= 2,
            between(ranked.c.taken_at, period),
        )
        .group_by(ranked.c.instrument, ranked.c.baseline, ranked.c.total)
    )
    pairs: dict[str, Counter[tuple[int, int]]] = {name: Counter() for name in domain.INSTRUMENTS}
    for instrument, first, last, people in rows:
        pairs[instrument][int(first), int(last)] += int(people)
    return pairs


def reviews(session: Session, scope: Scope, period: domain.Period) -> list[domain.Review]:
    """Reviews of the scoped episodes that fell due in the period."""
    rows = session.connection().execute(
        select(ReviewFact.due_on, ReviewFact.held_at).where(
            ReviewFact.due_on.between(period.start, period.end),
            ReviewFact.episode_id.in_(scoped_ids(scope)),
        )
    )
    return [domain.Review(due_on, held_at) for due_on, held_at in rows]


def crisis_alerts(
    session: Session, scope: Scope, period: domain.Period
) -> list[domain.CrisisAlert]:
    """Alerts raised in the period for scoped episodes, each with its first acknowledgement:
    the acknowledgement time mirrors ``domain.first_acknowledgement``."""
    first_acknowledged = (
        select(func.min(AcknowledgementFact.acknowledged_at))
        .where(
            AcknowledgementFact.client_id == CrisisAlertFact.client_id,
            AcknowledgementFact.acknowledged_at >= CrisisAlertFact.flagged_at,
        )
        .scalar_subquery()
    )
    rows = session.connection().execute(
        select(CrisisAlertFact.flagged_at, first_acknowledged).where(
            between(CrisisAlertFact.flagged_at, period),
            CrisisAlertFact.episode_id.in_(scoped_ids(scope)),
        )
    )
    return [domain.CrisisAlert(flagged, acknowledged) for flagged, acknowledged in rows]
