"""Who may see and change which plan, and loading a plan, its versions and reviews for that."""

from __future__ import annotations

import copy

from sqlalchemy import ColumnElement, and_, false, or_, select, true

from services.planning import domain
from services.planning.models import CARE_TEAM, Plan, PlanVersion, Review
from services.planning.operations.casework_access import carried_clients, continuity_episodes
from shared.errors import Conflict, Forbidden, NotFound
from shared.identity import Principal
from shared.unit_of_work import UnitOfWork

PENDING_REVIEW = domain.PENDING_REVIEW


def visible_plans(actor: Principal, *, history: bool = False) -> ColumnElement[bool]:
    """Admin sees all; a supervisor their team's plans; a case manager the plans they own (none
    once deactivated). Owner and supervisor follow intake's assignment and team events. With
    ``history`` (reading), also the earlier episodes' plans of the clients they carry now and
    the closed plans they carried within the continuity period."""
    if actor.has_any("admin"):
        return true()
    rules: list[ColumnElement[bool]] = []
    if actor.has_any("supervisor"):
        rules.append(Plan.supervisor_id == actor.sub)
    if actor.has_any("case_manager"):
        rules.append(and_(Plan.owner_id == actor.sub, ~CARE_TEAM.deactivated(actor.sub)))
    if history and rules:
        rules.append(Plan.client_id.in_(carried_clients(actor)))
        rules.append(Plan.episode_id.in_(continuity_episodes(actor)))
    return or_(*rules) if rules else false()


def load_plan(uow: UnitOfWork, actor: Principal, plan_id: str, *, for_update: bool = False) -> Plan:
    statement = select(Plan).where(Plan.id == plan_id, visible_plans(actor, history=not for_update))
    plan = uow.session.scalars(statement.with_for_update() if for_update else statement).first()
    if plan is None:
        raise NotFound(f"No plan {plan_id} that you may see.")
    return plan


def editable_plan(uow: UnitOfWork, actor: Principal, plan_id: str) -> Plan:
    """Only the plan's owner and the owner's supervisor change a plan."""
    plan = load_plan(uow, actor, plan_id, for_update=True)
    if actor.sub not in (plan.owner_id, plan.supervisor_id):
        raise Forbidden("Only the plan's case manager and their supervisor may change it.")
    return plan


def plan_version(uow: UnitOfWork, plan: Plan, number: int) -> PlanVersion:
    """Numbers past the plan's versions are answered without a query: the database cannot even
    hold some of them (an integer beyond 64 bits is a 500 in SQLite and PostgreSQL)."""
    in_range = 1 <= number <= plan.current_version
    version = (
        uow.session.scalars(
            select(PlanVersion).where(PlanVersion.plan_id == plan.id, PlanVersion.number == number)
        ).first()
        if in_range
        else None
    )
    if version is None:
        raise NotFound(f"Plan {plan.id} has no version {number}.")
    return version


def working_version(uow: UnitOfWork, plan: Plan, actor_id: str) -> PlanVersion:
    """The draft being written: an approved version is never changed, a change makes a new one."""
    if not domain.is_editable(plan.status):
        raise Conflict(
            f"A {plan.status} plan cannot be changed; start a review to write a new version.",
            current_status=plan.status,
            allowed=domain.allowed_transitions(plan.status),
        )
    latest = plan_version(uow, plan, plan.current_version)
    if latest.status == domain.VersionStatus.DRAFT:
        return latest
    draft = PlanVersion(
        plan_id=plan.id,
        number=latest.number + 1,
        status=str(domain.VersionStatus.DRAFT),
        content=copy.deepcopy(latest.content),
        created_by=actor_id,
    )
    uow.session.add(draft)
    plan.current_version = draft.number
    return draft


def pending_reviews(uow: UnitOfWork, plan: Plan) -> list[Review]:
    return list(
        uow.session.scalars(
            select(Review)
            .where(Review.plan_id == plan.id, Review.status.in_(PENDING_REVIEW))
            .order_by(Review.due_on)
        )
    )


def next_review(uow: UnitOfWork, plan: Plan) -> Review | None:
    return uow.session.scalars(
        select(Review)
        .where(Review.plan_id == plan.id, Review.status.in_(PENDING_REVIEW))
        .order_by(Review.due_on)
    ).first()
