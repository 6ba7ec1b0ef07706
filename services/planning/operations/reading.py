"""Reading plans, their versions, progress notes and overdue reviews (each read is audited)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select

from services.planning import domain
from services.planning.models import (
    AUDIT,
    Plan,
    PlanVersion,
    ProgressNote,
    Review,
    SuggestedChange,
)
from services.planning.operations.access import (
    PENDING_REVIEW,
    load_plan,
    plan_version,
    visible_plans,
)
from shared.identity import Principal
from shared.pagination import Page, keyset_page
from shared.unit_of_work import AuditedRead, UnitOfWork


def list_plans(
    uow: UnitOfWork,
    actor: Principal,
    *,
    client_id: str | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> Page[Plan]:
    statement = select(Plan).where(visible_plans(actor, history=True))
    if client_id:
        statement = statement.where(Plan.client_id == client_id)
    if status:
        statement = statement.where(Plan.status == status)
    page = keyset_page(
        uow.session, statement, [Plan.created_at, Plan.id], limit=limit, cursor=cursor
    )
    for plan in page.items:
        AUDIT.record(uow.session, actor, "read", "plan", plan.id, plan.client_id, via="list")
    return page


def read_plan(uow: UnitOfWork, actor: Principal, plan_id: str) -> Plan:
    """The plan, its read audited (what it shows beside itself: ``plan_details``)."""
    plan = load_plan(uow, actor, plan_id)
    AUDIT.record(uow.session, actor, "read", "plan", plan.id, plan.client_id)
    return plan


def list_versions(
    uow: UnitOfWork, actor: Principal, plan_id: str, *, limit: int, cursor: str | None
) -> Page[PlanVersion]:
    plan = load_plan(uow, actor, plan_id)
    AUDIT.record(uow.session, actor, "read", "plan_versions", plan.id, plan.client_id)
    return keyset_page(
        uow.session,
        select(PlanVersion).where(PlanVersion.plan_id == plan.id),
        [PlanVersion.number],
        limit=limit,
        cursor=cursor,
    )


def read_version(uow: UnitOfWork, actor: Principal, plan_id: str, number: int) -> PlanVersion:
    plan = load_plan(uow, actor, plan_id)
    AUDIT.record(
        uow.session, actor, "read", "plan_version", plan.id, plan.client_id, version=number
    )
    return plan_version(uow, plan, number)


def compare(
    uow: UnitOfWork, actor: Principal, plan_id: str, older: int, newer: int
) -> dict[str, Any]:
    plan = load_plan(uow, actor, plan_id)
    AUDIT.record(
        uow.session,
        actor,
        "read",
        "plan_versions",
        plan.id,
        plan.client_id,
        compared=[older, newer],
    )
    return domain.compare_versions(
        plan_version(uow, plan, older).content, plan_version(uow, plan, newer).content
    )


def list_progress_notes(
    uow: UnitOfWork,
    actor: Principal,
    plan_id: str,
    goal_id: str,
    *,
    limit: int,
    cursor: str | None,
) -> Page[ProgressNote]:
    plan = load_plan(uow, actor, plan_id)
    AUDIT.record(
        uow.session, actor, "read", "progress_notes", goal_id, plan.client_id, plan_id=plan.id
    )
    return keyset_page(
        uow.session,
        select(ProgressNote).where(
            ProgressNote.plan_id == plan.id, ProgressNote.goal_id == goal_id
        ),
        [ProgressNote.written_at, ProgressNote.id],
        limit=limit,
        cursor=cursor,
    )


def overdue_reviews(
    read: UnitOfWork | AuditedRead,
    actor: Principal,
    today: date,
    *,
    limit: int,
    cursor: str | None,
) -> Page[tuple[Review, Plan, int]]:
    """Reviews past their date on the plans the caller carries (or supervises), each with the
    number of suggested changes still open on its plan: one statement for the page (the
    caseload page asks on every view), not one more a review."""
    open_suggestions = (
        select(func.count())
        .where(
            SuggestedChange.plan_id == Plan.id,
            SuggestedChange.status == domain.SuggestionStatus.OPEN,
        )
        .correlate(Plan)
        .scalar_subquery()
        .label("open_suggested_changes")
    )
    page = keyset_page(
        read.session,
        select(Review, Plan, open_suggestions)
        .join(Plan, Plan.id == Review.plan_id)
        .where(Review.status.in_(PENDING_REVIEW), Review.due_on < today, visible_plans(actor)),
        [Review.due_on, Review.id],
        limit=limit,
        cursor=cursor,
        rows=True,
        key_values=lambda row: (row.Review.due_on, row.Review.id),
    )
    AUDIT.record(read.session, actor, "read", "overdue_reviews", None, None, count=len(page.items))
    return Page(
        [(row.Review, row.Plan, row.open_suggested_changes) for row in page.items],
        page.next_cursor,
    )
