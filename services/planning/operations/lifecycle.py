"""A plan's lifecycle: approval with the client, reviews, closing, and monitoring progress."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, select

from services.planning import casework_domain, domain
from services.planning.events import (
    GoalAchieved,
    PlanApproved,
    PlanClosed,
    PlanReviewed,
    ReferralRequested,
    ReviewDue,
)
from services.planning.models import AUDIT, Plan, ProgressNote, Review, Task
from services.planning.operations.access import (
    editable_plan,
    pending_reviews,
    plan_version,
)
from services.planning.operations.suggestions import refuse_open_suggestions
from services.planning.operations.task_sources import task_for_review, tasks_for_strategies
from services.planning.operations.tasks import settle_tasks
from services.planning.operations.writing import goal_in
from services.planning.settings import ReviewPolicy
from shared.clock import agency_date
from shared.errors import Conflict
from shared.identity import Principal
from shared.unit_of_work import UnitOfWork

ReviewStatus, VersionStatus = domain.ReviewStatus, domain.VersionStatus


def approve(
    uow: UnitOfWork,
    actor: Principal,
    plan_id: str,
    agreement: Mapping[str, Any],
    policy: ReviewPolicy,
    now: datetime,
) -> Plan:
    """The client agreed: the working version is approved, referrals requested, a review set
    (dated from the agency's day of the approval)."""
    plan = editable_plan(uow, actor, plan_id)
    if plan.status == domain.PlanStatus.UNDER_REVIEW:
        refuse_open_suggestions(uow, plan)
    version = plan_version(uow, plan, plan.current_version)
    previous = plan_version(uow, plan, plan.approved_version) if plan.approved_version else None
    decision = domain.decide_approval(
        status=plan.status,
        version_status=version.status,
        content=version.content,
        previous_content=previous.content if previous else None,
        safety_plan_required=plan.safety_plan_required,
        approved_on=agency_date(now),
        interval_days=policy.interval_days,
    )

    if decision.approves_draft:
        version.content = decision.content
        version.status, version.approved_at, version.approved_by = (
            str(VersionStatus.APPROVED),
            now,
            actor.sub,
        )
        version.agreement = {**agreement, "recorded_by": actor.sub}
        if previous is not None:
            previous.status = str(VersionStatus.SUPERSEDED)
    plan.status, plan.approved_version, plan.approved_at = decision.status, version.number, now
    completed = pending_reviews(uow, plan) if decision.completes_review else []
    for review in completed:
        review.status, review.completed_at = str(ReviewStatus.COMPLETED), now
    if completed:
        held = "Review held: the plan was approved with the client"
        settle_tasks(uow, Task.source_key.in_([f"review:{r.id}" for r in completed]), held, now)
    if not domain.missing_safety_plan_sections(version.content.get("safety_plan")):
        settle_tasks(
            uow,
            and_(
                Task.episode_id == plan.episode_id,
                Task.source == str(casework_domain.TaskSource.SAFETY_PLAN_MISSING),
            ),
            "Safety plan agreed with the client",
            now,
        )
    uow.session.add(Review(plan_id=plan.id, due_on=decision.next_review_due, reason="routine"))
    uow.session.flush()
    AUDIT.record(
        uow.session,
        actor,
        "approve",
        "plan",
        plan.id,
        plan.client_id,
        version=version.number,
        agreement_method=agreement.get("method"),
    )

    ids = {"plan_id": plan.id, "client_id": plan.client_id, "episode_id": plan.episode_id}
    uow.publish(
        PlanApproved(
            **ids,
            version=version.number,
            owner_id=plan.owner_id,
            approved_at=now,
            next_review_due=decision.next_review_due,
        )
    )
    if decision.completes_review:
        review_id = completed[0].id if completed else None
        uow.publish(
            PlanReviewed(**ids, review_id=review_id, version=version.number, reviewed_at=now)
        )
    for goal, strategy in decision.referrals:
        uow.publish(
            ReferralRequested(
                **ids,
                client_reference=plan.client_reference,
                goal_id=goal["id"],
                strategy_id=strategy["id"],
                domain=goal["domain"],
                partner_service_id=strategy.get("partner_service_id"),
                requested_by=actor.sub,
                requested_at=now,
            )
        )
    tasks_for_strategies(uow, plan, version.content)
    return plan


def start_review(uow: UnitOfWork, actor: Principal, plan_id: str) -> Plan:
    plan = editable_plan(uow, actor, plan_id)
    plan.status = domain.transition(plan.status, domain.PlanStatus.UNDER_REVIEW)
    AUDIT.record(uow.session, actor, "start_review", "plan", plan.id, plan.client_id)
    return plan


def close(uow: UnitOfWork, actor: Principal, plan_id: str, reason: str, now: datetime) -> Plan:
    plan = editable_plan(uow, actor, plan_id)
    close_plan(uow, plan, reason, now)
    AUDIT.record(uow.session, actor, "close", "plan", plan.id, plan.client_id, reason=reason)
    return plan


def close_plan(uow: UnitOfWork, plan: Plan, reason: str, now: datetime) -> None:
    """Closing cancels the reviews still to hold."""
    plan.status = domain.transition(plan.status, domain.PlanStatus.CLOSED)
    plan.closed_at, plan.close_reason = now, reason
    for review in pending_reviews(uow, plan):
        review.status = str(ReviewStatus.CANCELLED)
    uow.publish(
        PlanClosed(
            plan_id=plan.id,
            client_id=plan.client_id,
            episode_id=plan.episode_id,
            reason=reason,
            closed_at=plan.closed_at,
        )
    )


def add_progress_note(
    uow: UnitOfWork, actor: Principal, plan_id: str, goal_id: str, note: Mapping[str, Any]
) -> ProgressNote:
    plan = editable_plan(uow, actor, plan_id)
    if plan.approved_version is None or plan.status == domain.PlanStatus.CLOSED:
        raise Conflict(
            "Progress is monitored on an approved plan that is not closed.",
            current_status=plan.status,
        )
    goal = goal_in(plan_version(uow, plan, plan.approved_version).content, goal_id)
    achieved_before = uow.session.scalars(
        select(ProgressNote.id).where(
            ProgressNote.goal_id == goal_id, ProgressNote.achieved.is_(True)
        )
    ).first()
    progress = ProgressNote(
        plan_id=plan.id,
        goal_id=goal_id,
        note=note["note"],
        attainment=int(note["attainment"]),
        achieved=bool(note.get("achieved")),
        written_by=actor.sub,
    )
    uow.session.add(progress)
    uow.session.flush()
    AUDIT.record(
        uow.session, actor, "progress_note", "goal", goal_id, plan.client_id, plan_id=plan.id
    )
    if progress.achieved and not achieved_before:
        uow.publish(
            GoalAchieved(
                plan_id=plan.id,
                client_id=plan.client_id,
                episode_id=plan.episode_id,
                goal_id=goal_id,
                domain=goal["domain"],
                achieved_at=progress.written_at,
            )
        )
    return progress


def announce_due_reviews(uow: UnitOfWork, today: date, now: datetime | None = None) -> int:
    """The scheduler: each due review is announced once, even with several workers running
    (rows are claimed with SKIP LOCKED and marked in the same transaction as the event)."""
    claimed = uow.session.execute(
        select(Review, Plan)
        .join(Plan, Plan.id == Review.plan_id)
        .where(Review.status == ReviewStatus.SCHEDULED, Review.due_on <= today)
        .with_for_update(skip_locked=True, of=Review)
    ).all()
    announced_at = now or datetime.now(UTC)
    for review, plan in claimed:
        review.status, review.due_announced_at = str(ReviewStatus.DUE), announced_at
        uow.publish(
            ReviewDue(
                review_id=review.id,
                plan_id=plan.id,
                client_id=plan.client_id,
                episode_id=plan.episode_id,
                due_on=review.due_on,
                case_manager_id=plan.owner_id,
            )
        )
        task_for_review(uow, review, plan)
    return len(claimed)
