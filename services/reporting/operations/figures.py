"""Every figure of a caller's scope and period: the rows chosen in SQL (``queries``), the
formulas applied by ``domain``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from services.reporting import domain
from services.reporting.models import StaffMember
from services.reporting.operations import attribution, counted, queries
from services.reporting.operations.caseload import CaseloadPoint, caseload_points
from services.reporting.operations.queries import Scope
from shared.errors import Forbidden

#: Roles that see every team.
SEE_ALL = frozenset({"admin", "reporting"})


@dataclass(frozen=True)
class Figures:
    period: domain.Period
    scope: Scope
    people_in_care: int
    registrations: int
    caseload: list[CaseloadPoint]
    registration_to_assignment: domain.Duration
    plan_approval: domain.Duration
    reviews_on_time: domain.Rate
    referrals: dict[str, domain.PartnerFigures]
    crisis_acknowledged: domain.Rate
    outcomes: dict[str, domain.OutcomeFigures]
    discharges: dict[str, int]


def scope_for(
    session: Session, sub: str, roles: frozenset[str], *, team: str | None, programme: str | None
) -> Scope:
    """Admins and the reporting role see every team; a supervisor the teams of the case managers
    they supervise (asking for another team is refused)."""
    if roles & SEE_ALL:
        return Scope(programme, frozenset({team}) if team else None)
    own = frozenset(
        session.scalars(select(StaffMember.team).where(StaffMember.supervisor_id == sub).distinct())
    )
    if team is not None:
        if team not in own:
            raise Forbidden(f"You supervise no case manager of team {team}.")
        return Scope(programme, frozenset({team}))
    return Scope(programme, own)


def compute(
    session: Session,
    scope: Scope,
    period: domain.Period,
    today: date,
    *,
    with_caseload: bool = True,
) -> Figures:
    """Every figure of the scope and period. Only the scope's rows of the period leave the
    database (counts where the figure is a count); ``with_caseload=False`` skips the
    per-case-manager caseload (the funder report shows none)."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    if postgresql:
        # Sorts for the outcome windows and hashes for the scope stay in memory (read only).
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        # No JIT: the referrals' attribution (a lookup a referral) is costed so high that
        # PostgreSQL compiled it with inlining and optimisation, 0.35 s of a 1.4 s query at
        # 500,000 episodes, and no query of a report runs long enough to earn that back.
        session.execute(text("SET LOCAL jit = off"))
    in_care, registered = queries.episode_counts(session, scope, period)
    pairs = queries.outcome_pairs(session, scope, period)
    if postgresql:  # counted in the database: no row of these figures is sent
        to_assignment, plan_approval = counted.durations(session, scope, period)
        partners = counted.partners(session, scope, period)
        on_time = counted.reviews_on_time(session, scope, period, today)
    else:
        timed = queries.timed_episodes(session, scope, period)
        to_assignment = domain.registration_to_assignment(timed, period)
        plan_approval = domain.days_to_plan_approval(timed, period)
        partners = domain.referrals_by_partner(
            attribution.referrals(session, scope, period), period
        )
        on_time = domain.reviews_on_time(queries.reviews(session, scope, period), period, today)
    return Figures(
        period=period,
        scope=scope,
        people_in_care=in_care,
        registrations=registered,
        caseload=caseload_points(session, scope, period) if with_caseload else [],
        registration_to_assignment=to_assignment,
        plan_approval=plan_approval,
        reviews_on_time=on_time,
        referrals=partners,
        crisis_acknowledged=domain.crisis_acknowledged_in_time(
            queries.crisis_alerts(session, scope, period), period
        ),
        outcomes={
            name: domain.outcome_figures(pairs[name], instrument)
            for name, instrument in domain.INSTRUMENTS.items()
        },
        discharges=queries.discharges(session, scope, period),
    )
