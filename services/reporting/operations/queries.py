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
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    Interval,
    ScalarSelect,
    Select,
    Subquery,
    and_,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, aliased

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


def _first_assignments(scope: Scope) -> Subquery:
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


def _timed(
    columns: Sequence[ColumnElement[Any]],
    first_assigned: Subquery,
    scope: Scope,
    period: domain.Period,
) -> Select[Any]:
    """``columns`` of the episodes first assigned, or with a plan first approved, in the period
    (``first_assigned``: ``_first_assignments(scope)``, which the columns may name)."""
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
    first_assigned = _first_assignments(scope)
    query = _timed(
        [EpisodeFacts.registered_at, first_assigned.c.at, EpisodeFacts.first_plan_approved_at],
        first_assigned,
        scope,
        period,
    )
    return [
        domain.Episode("", "", None, registered, assigned, approved, None, None)
        for registered, assigned, approved in session.connection().execute(query)
    ]


def _middles(values: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    """How many ``values`` there are (NULLs left out) and their lower and upper middle."""
    return [
        func.count(values),
        func.percentile_disc(0.5).within_group(values),
        func.percentile_disc(0.5).within_group(values.desc()),
    ]


def timed_figures(
    session: Session, scope: Scope, period: domain.Period
) -> tuple[domain.Duration, domain.Duration]:
    """PostgreSQL: ``domain.registration_to_assignment`` and ``domain.days_to_plan_approval``
    counted where the rows are (``timed_episodes`` sent 170,000 rows at 500,000 episodes): each
    duration's count and middle values, the median then taken as ``domain.duration`` does."""
    first_assigned = _first_assignments(scope)
    registered = EpisodeFacts.registered_at
    approved = EpisodeFacts.first_plan_approved_at
    assigned = first_assigned.c.at
    to_assignment = type_coerce(
        case((between(assigned, period), assigned - registered)), Interval()
    )
    to_approval = type_coerce(case((between(approved, period), approved - registered)), Interval())
    row = (
        session.connection()
        .execute(
            _timed(
                [*_middles(to_assignment), *_middles(to_approval)], first_assigned, scope, period
            )
        )
        .one()
    )
    return domain.duration_from_middles(*row[:3]), domain.duration_from_middles(*row[3:])


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


def reviews_on_time(
    session: Session, scope: Scope, period: domain.Period, today: date
) -> domain.Rate:
    """PostgreSQL: ``domain.reviews_on_time`` counted in the database (``reviews`` sent 150,000
    rows at 500,000 episodes). Each due day's end is the domain's own (``day_start`` of the next
    day, in the agency's zone), passed in beside the day rather than worked out by the
    database's time zone rules."""
    days = [period.start + timedelta(days=n) for n in range((period.end - period.start).days + 1)]
    ends = (
        func.unnest(
            bindparam("due_days", days, type_=ARRAY(Date())),
            bindparam(
                "day_ends",
                [domain.day_start(day + timedelta(days=1)) for day in days],
                type_=ARRAY(DateTime(timezone=True)),
            ),
        )
        .table_valued("due_day", "day_end")
        .render_derived()
    )
    held = ReviewFact.held_at
    on_time, known = (
        session.connection()
        .execute(
            select(
                func.count().filter(held.is_not(None) & (held < ends.c.day_end)),
                func.count().filter(held.is_not(None) | (ReviewFact.due_on < today)),
            )
            .select_from(ReviewFact)
            .join(ends, ends.c.due_day == ReviewFact.due_on)
            .where(
                ReviewFact.due_on.between(period.start, period.end),
                ReviewFact.episode_id.in_(scoped_ids(scope)),
            )
        )
        .one()
    )
    return domain.Rate(int(on_time), int(known))


def _episode_at_sending() -> ColumnElement[str]:
    """The client's episode open when the referral was sent: the latest registered by then, an
    undated one, or else the latest registered (a referral predating the episode's own event)."""
    episode = aliased(EpisodeFacts)
    client = episode.client_id == ReferralFact.client_id

    def one(*conditions: ColumnElement[bool], latest_first: bool = True) -> ScalarSelect[str]:
        query = select(episode.episode_id).where(client, *conditions)
        if latest_first:
            query = query.order_by(episode.registered_at.desc())
        return query.limit(1).scalar_subquery()

    return func.coalesce(
        one(episode.registered_at <= ReferralFact.sent_at),
        one(episode.registered_at.is_(None), latest_first=False),
        one(episode.registered_at.is_not(None)),
    )


def _attributed_referrals(scope: Scope, period: domain.Period) -> Subquery:
    """Referrals sent in the period and attributed to a scoped episode (the client's episode
    open at sending), with their partner's figures' columns and ``reason``: the rejection's
    reason code (``unstated`` for none), NULL when not rejected."""
    # OFFSET 0 keeps PostgreSQL from inlining the subquery: the attribution's correlated
    # lookups then run once a referral, not again in the join that checks the scope.
    sent = (
        select(
            ReferralFact.organization_id,
            ReferralFact.sent_at,
            ReferralFact.accepted_at,
            ReferralFact.completed_at,
            ReferralFact.rejected_at,
            ReferralFact.rejection_reason,
            _episode_at_sending().label("episode_id"),
        )
        .where(
            between(ReferralFact.sent_at, period),
            ReferralFact.client_id.in_(select(EpisodeFacts.client_id).where(*in_scope(scope))),
        )
        .offset(0)
        .subquery()
    )
    reason = case(
        (
            sent.c.rejected_at.is_not(None),
            func.coalesce(func.nullif(sent.c.rejection_reason, ""), "unstated"),
        )
    )
    return (
        select(
            *(column for column in sent.c if column.name != "episode_id"), reason.label("reason")
        )
        .where(sent.c.episode_id.in_(scoped_ids(scope)))
        .subquery()
    )


def referrals(session: Session, scope: Scope, period: domain.Period) -> list[domain.Referral]:
    """Referrals sent in the period and attributed to a scoped episode (the client's episode
    open at sending)."""
    attributed = _attributed_referrals(scope, period)
    rows = session.connection().execute(
        select(*(column for column in attributed.c if column.name != "reason"))
    )
    return [domain.Referral(*row) for row in rows]


def referral_figures(
    session: Session, scope: Scope, period: domain.Period
) -> dict[str, domain.PartnerFigures]:
    """PostgreSQL: ``domain.referrals_by_partner`` counted where the rows are (``referrals``
    sent 170,000 rows at 500,000 episodes), in one pass over the attributed referrals: each
    partner's counts and days to acceptance, and each partner's count of each rejection reason
    (grouping sets), the median then taken as ``domain.duration`` does."""
    attributed = _attributed_referrals(scope, period)
    partner, reason = attributed.c.organization_id, attributed.c.reason
    to_acceptance = type_coerce(attributed.c.accepted_at - attributed.c.sent_at, Interval())
    rows = session.connection().execute(
        select(
            partner,
            reason,
            func.grouping(reason),
            func.count(),
            func.count(attributed.c.accepted_at),
            func.count(attributed.c.completed_at),
            func.count(attributed.c.rejected_at),
            *_middles(to_acceptance),
        ).group_by(func.grouping_sets(tuple_(partner), tuple_(partner, reason)))
    )
    totals: dict[str, tuple[Any, ...]] = {}
    reasons: dict[str, dict[str, int]] = {}
    for organization, code, whole, sent, accepted, completed, rejected, *middles in rows:
        if whole:
            totals[organization] = (sent, accepted, completed, rejected, middles)
        elif code is not None:
            reasons.setdefault(organization, {})[code] = sent
    return {
        organization: domain.PartnerFigures(
            sent=sent,
            accepted=accepted,
            completed=completed,
            rejected=rejected,
            rejection_reasons=dict(sorted(reasons.get(organization, {}).items())),
            to_acceptance=domain.duration_from_middles(*middles),
        )
        for organization, (sent, accepted, completed, rejected, middles) in sorted(totals.items())
    }


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
