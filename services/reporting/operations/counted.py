"""Figures PostgreSQL counts where the rows are, so that no row of them is sent: the two
durations, reviews held on time and the partners' figures. Each mirrors the ``domain`` function
it names (SQLite sends the rows to that function instead: ``queries``), and
tests/reporting/test_scoped_figures.py checks both against the whole-table reference. A median
comes back as its count and its two middle values (``percentile_disc`` both ways), and
``domain.duration_from_middles`` takes it as ``domain.duration`` does."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    Interval,
    bindparam,
    case,
    func,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from services.reporting import domain
from services.reporting.models import EpisodeFacts, ReviewFact
from services.reporting.operations.attribution import attributed_referrals
from services.reporting.operations.queries import (
    Scope,
    between,
    first_assignments,
    scoped_ids,
    timed_query,
)


def _middles(values: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    """How many ``values`` there are (NULLs left out) and their lower and upper middle."""
    return [
        func.count(values),
        func.percentile_disc(0.5).within_group(values),
        func.percentile_disc(0.5).within_group(values.desc()),
    ]


def durations(
    session: Session, scope: Scope, period: domain.Period
) -> tuple[domain.Duration, domain.Duration]:
    """PostgreSQL: ``domain.registration_to_assignment`` and ``domain.days_to_plan_approval``
    counted where the rows are (``timed_episodes`` sent 170,000 rows at 500,000 episodes): each
    duration's count and middle values, the median then taken as ``domain.duration`` does."""
    first_assigned = first_assignments(scope)
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
            timed_query(
                [*_middles(to_assignment), *_middles(to_approval)], first_assigned, scope, period
            )
        )
        .one()
    )
    return domain.duration_from_middles(*row[:3]), domain.duration_from_middles(*row[3:])


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


def partners(
    session: Session, scope: Scope, period: domain.Period
) -> dict[str, domain.PartnerFigures]:
    """PostgreSQL: ``domain.referrals_by_partner`` counted where the rows are (``referrals``
    sent 170,000 rows at 500,000 episodes), in one pass over the attributed referrals: each
    partner's counts and days to acceptance, and each partner's count of each rejection reason
    (grouping sets), the median then taken as ``domain.duration`` does."""
    attributed = attributed_referrals(scope, period)
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
