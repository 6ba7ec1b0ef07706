"""The planning service layer: drafting plans from intake's events, editing them with the client,
approval, reviews and monitoring. Plain Python over models and domain rules (no Flask)."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, false, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from services.planning import domain
from services.planning.models import (
    AUDIT,
    CARE_TEAM,
    EpisodeCare,
    Plan,
    PlanVersion,
    ProgressNote,
    Review,
    StrategyReferral,
    new_id,
)
from shared.care_team import supersedes
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.pagination import Page, keyset_page
from shared.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from shared.web.auth import Principal

PENDING_REVIEW = ("scheduled", "due")


@dataclass(frozen=True)
class ReviewPolicy:
    """How often plans are reviewed, and how soon after a crisis (environment-configurable)."""

    interval_days: int = domain.DEFAULT_REVIEW_INTERVAL_DAYS
    crisis_days: int = domain.CRISIS_REVIEW_DAYS

    @classmethod
    def from_env(cls) -> ReviewPolicy:
        return cls(
            interval_days=int(
                os.environ.get("PLANNING_REVIEW_INTERVAL_DAYS", domain.DEFAULT_REVIEW_INTERVAL_DAYS)
            ),
            crisis_days=int(
                os.environ.get("PLANNING_CRISIS_REVIEW_DAYS", domain.CRISIS_REVIEW_DAYS)
            ),
        )


def _now() -> datetime:
    return datetime.now(UTC)


def _today() -> date:
    return _now().date()


# -- access ------------------------------------------------------------------------------------
def visible_plans(actor: Principal) -> ColumnElement[bool]:
    """Admin sees all; a supervisor their team's plans; a case manager the plans they own (none
    once deactivated). Owner and supervisor follow intake's assignment and team events."""
    if actor.has_any("admin"):
        return true()
    rules: list[ColumnElement[bool]] = []
    if actor.has_any("supervisor"):
        rules.append(Plan.supervisor_id == actor.sub)
    if actor.has_any("case_manager"):
        rules.append(and_(Plan.owner_id == actor.sub, ~CARE_TEAM.deactivated(actor.sub)))
    return or_(*rules) if rules else false()


def _plan(uow: UnitOfWork, actor: Principal, plan_id: str, *, for_update: bool = False) -> Plan:
    statement = select(Plan).where(Plan.id == plan_id, visible_plans(actor))
    plan = uow.session.scalars(statement.with_for_update() if for_update else statement).first()
    if plan is None:
        raise NotFound(f"No plan {plan_id} that you may see.")
    return plan


def _editable_plan(uow: UnitOfWork, actor: Principal, plan_id: str) -> Plan:
    """Only the plan's owner and the owner's supervisor change a plan."""
    plan = _plan(uow, actor, plan_id, for_update=True)
    if actor.sub not in (plan.owner_id, plan.supervisor_id):
        raise Forbidden("Only the plan's case manager and their supervisor may change it.")
    return plan


def audit(
    uow: UnitOfWork,
    actor: Principal,
    action: str,
    entity: str,
    entity_id: str | None,
    client_id: str | None,
    **detail: Any,
) -> None:
    AUDIT.record(uow.session, actor, action, entity, entity_id, client_id, **detail)


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


def _transition(plan: Plan, requested: domain.PlanStatus) -> domain.PlanStatus:
    try:
        return domain.transition(plan.status, requested)
    except domain.IllegalTransition as illegal:
        raise Conflict(str(illegal), current_status=plan.status, allowed=illegal.allowed) from None


def _working_version(uow: UnitOfWork, plan: Plan, actor_id: str) -> PlanVersion:
    """The draft being written: an approved version is never changed, a change makes a new one."""
    if not domain.is_editable(plan.status):
        raise Conflict(
            f"A {plan.status} plan cannot be changed; start a review to write a new version.",
            current_status=plan.status,
            allowed=domain.allowed_transitions(plan.status),
        )
    latest = plan_version(uow, plan, plan.current_version)
    if latest.status == "draft":
        return latest
    draft = PlanVersion(
        plan_id=plan.id,
        number=latest.number + 1,
        status="draft",
        content=copy.deepcopy(latest.content),
        created_by=actor_id,
    )
    uow.session.add(draft)
    plan.current_version = draft.number
    return draft


# -- reading -----------------------------------------------------------------------------------
def list_plans(
    uow: UnitOfWork,
    actor: Principal,
    *,
    client_id: str | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> Page[Plan]:
    statement = select(Plan).where(visible_plans(actor))
    if client_id:
        statement = statement.where(Plan.client_id == client_id)
    if status:
        statement = statement.where(Plan.status == status)
    page = keyset_page(
        uow.session, statement, [Plan.created_at, Plan.id], limit=limit, cursor=cursor
    )
    for plan in page.items:
        audit(uow, actor, "read", "plan", plan.id, plan.client_id, via="list")
    return page


def read_plan(
    uow: UnitOfWork, actor: Principal, plan_id: str
) -> tuple[Plan, PlanVersion, Review | None]:
    plan = _plan(uow, actor, plan_id)
    audit(uow, actor, "read", "plan", plan.id, plan.client_id)
    return plan, plan_version(uow, plan, plan.current_version), next_review(uow, plan)


def next_review(uow: UnitOfWork, plan: Plan) -> Review | None:
    return uow.session.scalars(
        select(Review)
        .where(Review.plan_id == plan.id, Review.status.in_(PENDING_REVIEW))
        .order_by(Review.due_on)
    ).first()


def list_versions(
    uow: UnitOfWork, actor: Principal, plan_id: str, *, limit: int, cursor: str | None
) -> Page[PlanVersion]:
    plan = _plan(uow, actor, plan_id)
    audit(uow, actor, "read", "plan_versions", plan.id, plan.client_id)
    return keyset_page(
        uow.session,
        select(PlanVersion).where(PlanVersion.plan_id == plan.id),
        [PlanVersion.number],
        limit=limit,
        cursor=cursor,
    )


def read_version(uow: UnitOfWork, actor: Principal, plan_id: str, number: int) -> PlanVersion:
    plan = _plan(uow, actor, plan_id)
    audit(uow, actor, "read", "plan_version", plan.id, plan.client_id, version=number)
    return plan_version(uow, plan, number)


def compare(
    uow: UnitOfWork, actor: Principal, plan_id: str, older: int, newer: int
) -> dict[str, Any]:
    plan = _plan(uow, actor, plan_id)
    audit(uow, actor, "read", "plan_versions", plan.id, plan.client_id, compared=[older, newer])
    return domain.compare_versions(
        plan_version(uow, plan, older).content, plan_version(uow, plan, newer).content
    )


# -- writing the plan with the client ----------------------------------------------------------
def _change_content(
    uow: UnitOfWork, actor: Principal, plan_id: str, change: str, edit: Any
) -> tuple[Plan, PlanVersion]:
    plan = _editable_plan(uow, actor, plan_id)
    version = _working_version(uow, plan, actor.sub)
    content = copy.deepcopy(version.content)
    edit(content)
    version.content = content
    uow.session.flush()
    audit(uow, actor, change, "plan", plan.id, plan.client_id, version=version.number)
    return plan, version


def _goal(content: Mapping[str, Any], goal_id: str) -> dict[str, Any]:
    goal = next((goal for goal in content["goals"] if goal["id"] == goal_id), None)
    if goal is None:
        raise NotFound(f"The plan has no goal {goal_id}.")
    return goal


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def add_goal(
    uow: UnitOfWork, actor: Principal, plan_id: str, goal: Mapping[str, Any]
) -> tuple[Plan, PlanVersion, str]:
    goal_id = new_id()

    def edit(content: dict[str, Any]) -> None:
        content["goals"].append(
            {
                "id": goal_id,
                "domain": goal["domain"],
                "in_own_words": goal["in_own_words"],
                "measurable_target": goal["measurable_target"],
                "target_date": _iso(goal.get("target_date")),
                "status": str(domain.GoalStatus.PROPOSED),
                "strategies": [],
            }
        )

    plan, version = _change_content(uow, actor, plan_id, "add_goal", edit)
    return plan, version, goal_id


def update_goal(
    uow: UnitOfWork, actor: Principal, plan_id: str, goal_id: str, changes: Mapping[str, Any]
) -> tuple[Plan, PlanVersion]:
    def edit(content: dict[str, Any]) -> None:
        goal = _goal(content, goal_id)
        for field in ("in_own_words", "measurable_target", "status"):
            if field in changes:
                goal[field] = str(changes[field])
        if "target_date" in changes:
            goal["target_date"] = _iso(changes["target_date"])

    return _change_content(uow, actor, plan_id, "update_goal", edit)


def remove_goal(
    uow: UnitOfWork, actor: Principal, plan_id: str, goal_id: str
) -> tuple[Plan, PlanVersion]:
    def edit(content: dict[str, Any]) -> None:
        content["goals"].remove(_goal(content, goal_id))

    return _change_content(uow, actor, plan_id, "remove_goal", edit)


def add_strategy(
    uow: UnitOfWork, actor: Principal, plan_id: str, goal_id: str, strategy: Mapping[str, Any]
) -> tuple[Plan, PlanVersion, str]:
    strategy_id = new_id()
    if (
        strategy["type"] == domain.StrategyType.REFERRAL
        and strategy["responsible"] != domain.Responsible.PARTNER_SERVICE
    ):
        raise Unprocessable(
            "responsible", "a referral strategy is carried out by a partner_service"
        )

    def edit(content: dict[str, Any]) -> None:
        _goal(content, goal_id)["strategies"].append(
            {
                "id": strategy_id,
                "description": strategy["description"],
                "type": str(strategy["type"]),
                "responsible": str(strategy["responsible"]),
                "due_by": _iso(strategy.get("due_by")),
                "partner_service_id": strategy.get("partner_service_id"),
            }
        )

    plan, version = _change_content(uow, actor, plan_id, "add_strategy", edit)
    return plan, version, strategy_id


def remove_strategy(
    uow: UnitOfWork, actor: Principal, plan_id: str, goal_id: str, strategy_id: str
) -> tuple[Plan, PlanVersion]:
    def edit(content: dict[str, Any]) -> None:
        strategies = _goal(content, goal_id)["strategies"]
        strategy = next((s for s in strategies if s["id"] == strategy_id), None)
        if strategy is None:
            raise NotFound(f"The goal has no strategy {strategy_id}.")
        strategies.remove(strategy)

    return _change_content(uow, actor, plan_id, "remove_strategy", edit)


def set_safety_plan(
    uow: UnitOfWork, actor: Principal, plan_id: str, safety_plan: Mapping[str, list[str]]
) -> tuple[Plan, PlanVersion]:
    def edit(content: dict[str, Any]) -> None:
        content["safety_plan"] = {
            section: list(safety_plan.get(section, [])) for section in domain.SAFETY_PLAN_SECTIONS
        }

    return _change_content(uow, actor, plan_id, "set_safety_plan", edit)


# -- lifecycle ---------------------------------------------------------------------------------
def approve(
    uow: UnitOfWork,
    actor: Principal,
    plan_id: str,
    agreement: Mapping[str, Any],
    policy: ReviewPolicy,
) -> Plan:
    """The client agreed: the working version is approved, referrals requested, a review set."""
    plan = _editable_plan(uow, actor, plan_id)
    was_under_review = plan.status == domain.PlanStatus.UNDER_REVIEW
    target = _transition(plan, domain.PlanStatus.ACTIVE)
    version = plan_version(uow, plan, plan.current_version)
    problems = domain.approval_problems(
        version.content, safety_plan_required=plan.safety_plan_required
    )
    if problems:
        raise Conflict("The plan cannot be approved yet.", reasons=problems)
    previous = plan_version(uow, plan, plan.approved_version) if plan.approved_version else None
    at = _now()
    if version.status == "draft":
        version.content = domain.agree_goals(version.content)
        version.status, version.approved_at, version.approved_by = "approved", at, actor.sub
        version.agreement = {**agreement, "recorded_by": actor.sub}
        if previous is not None:
            previous.status = "superseded"
    plan.status, plan.approved_version, plan.approved_at = target, version.number, at
    completed = _complete_pending_reviews(uow, plan, at) if was_under_review else []
    due_on = domain.next_review_after_approval(at.date(), policy.interval_days)
    uow.session.add(Review(plan_id=plan.id, due_on=due_on, reason="routine"))
    uow.session.flush()
    audit(
        uow,
        actor,
        "approve",
        "plan",
        plan.id,
        plan.client_id,
        version=version.number,
        agreement_method=agreement.get("method"),
    )
    subject = f"client/{plan.client_id}"
    ids = {"plan_id": plan.id, "client_id": plan.client_id, "episode_id": plan.episode_id}
    uow.publish(
        "casehub.planning.plan.approved.v1",
        subject=subject,
        data={
            **ids,
            "version": version.number,
            "owner_id": plan.owner_id,
            "approved_at": at,
            "next_review_due": due_on,
        },
    )
    if was_under_review:
        uow.publish(
            "casehub.planning.plan.reviewed.v1",
            subject=subject,
            data={
                **ids,
                "review_id": completed[0].id if completed else None,
                "version": version.number,
                "reviewed_at": at,
            },
        )
    for goal, strategy in domain.new_referral_strategies(
        previous.content if previous else None, version.content
    ):
        uow.publish(
            "casehub.planning.strategy.referral_requested.v1",
            subject=subject,
            data={
                **ids,
                "client_reference": plan.client_reference,
                "goal_id": goal["id"],
                "strategy_id": strategy["id"],
                "domain": goal["domain"],
                "partner_service_id": strategy.get("partner_service_id"),
                "requested_by": actor.sub,
                "requested_at": at,
            },
        )
    return plan


def _complete_pending_reviews(uow: UnitOfWork, plan: Plan, at: datetime) -> list[Review]:
    pending = list(
        uow.session.scalars(
            select(Review)
            .where(Review.plan_id == plan.id, Review.status.in_(PENDING_REVIEW))
            .order_by(Review.due_on)
        )
    )
    for review in pending:
        review.status, review.completed_at = "completed", at
    return pending


def start_review(uow: UnitOfWork, actor: Principal, plan_id: str) -> Plan:
    plan = _editable_plan(uow, actor, plan_id)
    plan.status = _transition(plan, domain.PlanStatus.UNDER_REVIEW)
    audit(uow, actor, "start_review", "plan", plan.id, plan.client_id)
    return plan


def close(uow: UnitOfWork, actor: Principal, plan_id: str, reason: str) -> Plan:
    plan = _editable_plan(uow, actor, plan_id)
    _close(uow, plan, reason)
    audit(uow, actor, "close", "plan", plan.id, plan.client_id, reason=reason)
    return plan


def _close(uow: UnitOfWork, plan: Plan, reason: str) -> None:
    plan.status = _transition(plan, domain.PlanStatus.CLOSED)
    plan.closed_at, plan.close_reason = _now(), reason
    for review in uow.session.scalars(
        select(Review).where(Review.plan_id == plan.id, Review.status.in_(PENDING_REVIEW))
    ):
        review.status = "cancelled"
    uow.publish(
        "casehub.planning.plan.closed.v1",
        subject=f"client/{plan.client_id}",
        data={
            "plan_id": plan.id,
            "client_id": plan.client_id,
            "episode_id": plan.episode_id,
            "reason": reason,
            "closed_at": plan.closed_at,
        },
    )


# -- monitoring --------------------------------------------------------------------------------
def add_progress_note(
    uow: UnitOfWork, actor: Principal, plan_id: str, goal_id: str, note: Mapping[str, Any]
) -> ProgressNote:
    plan = _editable_plan(uow, actor, plan_id)
    if plan.approved_version is None or plan.status == domain.PlanStatus.CLOSED:
        raise Conflict(
            "Progress is monitored on an approved plan that is not closed.",
            current_status=plan.status,
        )
    goal = _goal(plan_version(uow, plan, plan.approved_version).content, goal_id)
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
    audit(uow, actor, "progress_note", "goal", goal_id, plan.client_id, plan_id=plan.id)
    if progress.achieved and not achieved_before:
        uow.publish(
            "casehub.planning.goal.achieved.v1",
            subject=f"client/{plan.client_id}",
            data={
                "plan_id": plan.id,
                "client_id": plan.client_id,
                "episode_id": plan.episode_id,
                "goal_id": goal_id,
                "domain": goal["domain"],
                "achieved_at": progress.written_at,
            },
        )
    return progress


def list_progress_notes(
    uow: UnitOfWork,
    actor: Principal,
    plan_id: str,
    goal_id: str,
    *,
    limit: int,
    cursor: str | None,
) -> Page[ProgressNote]:
    plan = _plan(uow, actor, plan_id)
    audit(uow, actor, "read", "progress_notes", goal_id, plan.client_id, plan_id=plan.id)
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
    uow: UnitOfWork, actor: Principal, today: date, *, limit: int, cursor: str | None
) -> Page[tuple[Review, Plan]]:
    """Reviews past their date on the plans the caller carries (or supervises)."""
    page = keyset_page(
        uow.session,
        select(Review, Plan)
        .join(Plan, Plan.id == Review.plan_id)
        .where(Review.status.in_(PENDING_REVIEW), Review.due_on < today, visible_plans(actor)),
        [Review.due_on, Review.id],
        limit=limit,
        cursor=cursor,
        rows=True,
        key_values=lambda row: (row.Review.due_on, row.Review.id),
    )
    audit(uow, actor, "read", "overdue_reviews", None, None, count=len(page.items))
    return Page([(review, plan) for review, plan in page.items], page.next_cursor)


def announce_due_reviews(uow: UnitOfWork, today: date) -> int:
    """The scheduler: each due review is announced once, even with several workers running
    (rows are claimed with SKIP LOCKED and marked in the same transaction as the event)."""
    claimed = uow.session.execute(
        select(Review, Plan)
        .join(Plan, Plan.id == Review.plan_id)
        .where(Review.status == "scheduled", Review.due_on <= today)
        .with_for_update(skip_locked=True, of=Review)
    ).all()
    for review, plan in claimed:
        review.status, review.due_announced_at = "due", _now()
        uow.publish(
            "casehub.planning.review.due.v1",
            subject=f"client/{plan.client_id}",
            data={
                "review_id": review.id,
                "plan_id": plan.id,
                "client_id": plan.client_id,
                "episode_id": plan.episode_id,
                "due_on": review.due_on,
                "case_manager_id": plan.owner_id,
            },
        )
    return len(claimed)


# -- from intake's events ----------------------------------------------------------------------
def _plan_for_episode(uow: UnitOfWork, episode_id: str) -> Plan | None:
    return uow.session.scalars(
        select(Plan).where(Plan.episode_id == episode_id).with_for_update()
    ).first()


def _create_plan(
    uow: UnitOfWork, data: Mapping[str, Any], content: dict[str, Any]
) -> tuple[Plan, bool]:
    """Insert-or-get on the natural key (``uq_plans_episode_id``): a risk flag and an assessment
    of one episode handled at once by two workers both find the plan, neither fails and retries.
    Returns the plan and whether this call created it."""
    care = uow.session.get(EpisodeCare, data["episode_id"])
    plan = Plan(
        client_id=data["client_id"],
        client_reference=data["client_reference"],
        episode_id=data["episode_id"],
        status=str(domain.PlanStatus.DRAFT),
        owner_id=care.case_manager_id if care else None,
        supervisor_id=care.supervisor_id if care else None,
        current_version=1,
    )
    try:
        with uow.session.begin_nested():  # on PostgreSQL waits for a concurrent insert's end
            uow.session.add(plan)
    except IntegrityError:
        existing = _plan_for_episode(uow, data["episode_id"])  # committed by the other worker
        if existing is None:
            raise
        return existing, False
    uow.session.add(PlanVersion(plan_id=plan.id, number=1, content=content, created_by="system"))
    uow.publish(
        "casehub.planning.plan.created.v1",
        subject=f"client/{plan.client_id}",
        data={
            "plan_id": plan.id,
            "client_id": plan.client_id,
            "client_reference": plan.client_reference,
            "episode_id": plan.episode_id,
            "owner_id": plan.owner_id,
            "created_at": plan.created_at,
        },
    )
    return plan, True


def draft_from_assessment(uow: UnitOfWork, data: Mapping[str, Any]) -> Plan:
    """One proposed goal per unmet-need domain; a later assessment adds what is new."""
    plan = _plan_for_episode(uow, data["episode_id"])
    created = False
    if plan is None:
        content = domain.propose_goals(domain.empty_content(), data["unmet_needs"], new_id)
        plan, created = _create_plan(uow, data, content)
    if not created and domain.is_editable(plan.status):
        version = _working_version(uow, plan, "system")
        version.content = domain.propose_goals(version.content, data["unmet_needs"], new_id)
    plan.latest_assessment_id = data["assessment_id"]
    return plan


def _care(uow: UnitOfWork, data: Mapping[str, Any]) -> EpisodeCare:
    care = uow.session.get(EpisodeCare, data["episode_id"], with_for_update=True)
    if care is None:
        care = EpisodeCare(
            episode_id=data["episode_id"],
            client_id=data["client_id"],
            client_reference=data["client_reference"],
        )
        uow.session.add(care)
    return care


def _set_carer(
    uow: UnitOfWork, care: EpisodeCare, case_manager_id: str | None, supervisor_id: str | None
) -> None:
    """Who carries the episode is who owns its plan and who may see and change it."""
    care.case_manager_id, care.supervisor_id = case_manager_id, supervisor_id
    plan = _plan_for_episode(uow, care.episode_id)
    if plan is not None:
        plan.owner_id, plan.supervisor_id = case_manager_id, supervisor_id


def record_assignment(uow: UnitOfWork, data: Mapping[str, Any]) -> None:
    """The episode's new case manager owns the plan; the one before loses it. A late event
    (an older ``care_version``) changes nothing."""
    care = _care(uow, data)
    if not supersedes(data.get("care_version"), care.care_version):
        return
    care.care_version = data.get("care_version")
    supervisor = CARE_TEAM.supervisor_of(
        uow.session,
        data["case_manager_id"],
        announced=data.get("supervisor_id"),
        announced_version=data.get("case_manager_version"),
    )
    _set_carer(uow, care, data["case_manager_id"], supervisor)


def record_team_change(uow: UnitOfWork, data: Mapping[str, Any]) -> None:
    """A case manager moved team (or left): their plans follow them to the new supervisor."""
    if not CARE_TEAM.record(uow.session, data):
        return  # an older change than the one held
    case_manager_id, supervisor_id = data["case_manager_id"], data.get("supervisor_id")
    uow.session.execute(
        update(EpisodeCare)
        .where(EpisodeCare.case_manager_id == case_manager_id)
        .values(supervisor_id=supervisor_id)
    )
    uow.session.execute(
        update(Plan).where(Plan.owner_id == case_manager_id).values(supervisor_id=supervisor_id)
    )


def respond_to_high_risk(
    uow: UnitOfWork, data: Mapping[str, Any], policy: ReviewPolicy, today: date
) -> Plan | None:
    """High risk: the plan must carry a safety plan, and the next review comes forward."""
    if data["level"] != "high":
        return None
    plan = (
        _plan_for_episode(uow, data["episode_id"])
        or _create_plan(uow, data, domain.empty_content())[0]
    )
    if plan.status == domain.PlanStatus.CLOSED:
        return plan
    plan.safety_plan_required = True
    if domain.is_editable(plan.status):
        version = _working_version(uow, plan, "system")
        if not version.content.get("safety_plan"):
            version.content = {
                **version.content,
                "safety_plan": {section: [] for section in domain.SAFETY_PLAN_SECTIONS},
            }
    pending = next_review(uow, plan)
    if pending is None:
        uow.session.add(
            Review(
                plan_id=plan.id, due_on=today + timedelta(days=policy.crisis_days), reason="crisis"
            )
        )
    else:
        pending.due_on = domain.review_after_crisis(today, pending.due_on, policy.crisis_days)
        if pending.status == "scheduled" and pending.due_on <= today:
            pending.reason = "crisis"
    return plan


def close_on_discharge(uow: UnitOfWork, data: Mapping[str, Any]) -> None:
    """The plan closes, and no one carries the episode any more: as in intake, the former case
    manager and supervisor no longer see it (admins still read it)."""
    plan = _plan_for_episode(uow, data["episode_id"])
    if plan is not None and plan.status != domain.PlanStatus.CLOSED:
        _close(uow, plan, "client discharged")
    care = _care(uow, data)
    if supersedes(data.get("care_version"), care.care_version):
        care.care_version = data.get("care_version")
        _set_carer(uow, care, None, None)


def record_referral_status(uow: UnitOfWork, data: Mapping[str, Any]) -> None:
    """The partner's progress on a referral strategy closes the loop on the plan. Events may arrive
    out of order (competing consumers, redelivery): only a newer status replaces an older one."""
    if not data.get("strategy_id") or not data.get("plan_id"):
        return  # a referral made outside a plan
    if uow.session.get(Plan, data["plan_id"]) is None:
        return
    at = data["at"] if isinstance(data["at"], datetime) else datetime.fromisoformat(str(data["at"]))
    link = uow.session.get(StrategyReferral, data["strategy_id"])
    if link is None:
        uow.session.add(
            StrategyReferral(
                strategy_id=data["strategy_id"],
                plan_id=data["plan_id"],
                referral_id=data["referral_id"],
                status=data["status"],
                updated_at=at,
            )
        )
    elif at >= link.updated_at:
        link.status, link.referral_id, link.updated_at = data["status"], data["referral_id"], at


def strategy_referrals(uow: UnitOfWork, plan: Plan) -> dict[str, str]:
    links = uow.session.scalars(select(StrategyReferral).where(StrategyReferral.plan_id == plan.id))
    return {link.strategy_id: link.status for link in links}
