"""What planning does on intake's and referrals' events: drafting plans from assessments, who
carries an episode, crisis reviews, discharge, and referral progress on strategies."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from services.planning import casework_domain, domain
from services.planning.events import PlanCreated, ReviewScheduled
from services.planning.models import (
    CARE_TEAM,
    EpisodeCare,
    Plan,
    PlanVersion,
    Review,
    StrategyReferral,
    Task,
    new_id,
)
from services.planning.operations.access import next_review, working_version
from services.planning.operations.discharge import keep_continuity, record_scores
from services.planning.operations.lifecycle import close_plan
from services.planning.operations.suggestions import suggest_from_assessment
from services.planning.operations.task_sources import (
    task_for_missing_safety_plan,
    task_for_referral,
)
from services.planning.settings import ReviewPolicy
from shared.care_team import supersedes
from shared.unit_of_work import UnitOfWork


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
        PlanCreated(
            plan_id=plan.id,
            client_id=plan.client_id,
            client_reference=plan.client_reference,
            episode_id=plan.episode_id,
            owner_id=plan.owner_id,
            created_at=plan.created_at,
        )
    )
    return plan, True


def draft_from_assessment(uow: UnitOfWork, data: Mapping[str, Any], now: datetime) -> Plan:
    """One proposed goal per unmet-need domain; a later assessment adds what is new: to the
    draft being written, or, when the plan is active, as suggested changes for its next review
    (the agreed plan never changes behind the client's back, and the need is never ignored).
    "Later" is by when the assessment was completed, not when its event arrived."""
    plan = _plan_for_episode(uow, data["episode_id"])
    newest = record_scores(uow, data)
    created = False
    if plan is None:
        content = domain.propose_goals(domain.empty_content(), data["unmet_needs"], new_id)
        plan, created = _create_plan(uow, data, content)
    if not (created or newest):
        # A late, older assessment (retried, replayed): its scores count, but its needs were
        # judged again by the newer one, so it neither adds goals nor becomes the plan's basis.
        return plan
    if not created and domain.is_editable(plan.status):
        version = working_version(uow, plan, "system")
        version.content = domain.propose_goals(version.content, data["unmet_needs"], new_id)
    elif plan.status == domain.PlanStatus.ACTIVE and plan.approved_version is not None:
        suggest_from_assessment(uow, plan, data, now)
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
    """The episode's new case manager owns the plan and its open tasks; the one before loses
    them. A late event (an older ``care_version``) changes nothing."""
    care = _care(uow, data)
    if not supersedes(data.get("care_version"), care.care_version):
        return
    care.care_version = data.get("care_version")
    previous = care.case_manager_id
    supervisor = CARE_TEAM.supervisor_of(
        uow.session,
        data["case_manager_id"],
        announced=data.get("supervisor_id"),
        announced_version=data.get("case_manager_version"),
    )
    _set_carer(uow, care, data["case_manager_id"], supervisor)
    _hand_over_open_tasks(uow, care.episode_id, previous, data["case_manager_id"])


def _hand_over_open_tasks(
    uow: UnitOfWork, episode_id: str, previous: str | None, case_manager_id: str
) -> None:
    """The episode's open tasks go with it: the previous carer's (who no longer sees the client)
    and any raised before an assignment reached planning (a crisis follow-up nobody owns is on
    nobody's list)."""
    owners = [Task.owner_id.is_(None)]
    if previous is not None and previous != case_manager_id:
        owners.append(Task.owner_id == previous)
    uow.session.execute(
        update(Task)
        .where(
            Task.episode_id == episode_id,
            Task.status == str(casework_domain.TaskStatus.OPEN),
            or_(*owners),
        )
        .values(owner_id=case_manager_id)
        .execution_options(synchronize_session=False)
    )


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
    """High risk: the plan must carry a safety plan (a task until an agreed one has it), and the
    next review comes forward."""
    if data["level"] != "high":
        return None
    plan = (
        _plan_for_episode(uow, data["episode_id"])
        or _create_plan(uow, data, domain.empty_content())[0]
    )
    if plan.status == domain.PlanStatus.CLOSED:
        return plan
    plan.safety_plan_required = True
    approved = (
        uow.session.scalars(
            select(PlanVersion.content).where(
                PlanVersion.plan_id == plan.id, PlanVersion.number == plan.approved_version
            )
        ).first()
        if plan.approved_version
        else None
    )
    task_for_missing_safety_plan(uow, plan, data, approved, today)
    if domain.is_editable(plan.status):
        version = working_version(uow, plan, "system")
        if not version.content.get("safety_plan"):
            version.content = {
                **version.content,
                "safety_plan": {section: [] for section in domain.SAFETY_PLAN_SECTIONS},
            }
    pending = next_review(uow, plan)
    was = pending.due_on if pending is not None else None
    if pending is None:
        pending = Review(
            plan_id=plan.id, due_on=today + timedelta(days=policy.crisis_days), reason="crisis"
        )
        uow.session.add(pending)
        uow.session.flush()
    else:
        pending.due_on = domain.review_after_crisis(today, pending.due_on, policy.crisis_days)
        if pending.status == domain.ReviewStatus.SCHEDULED and pending.due_on <= today:
            pending.reason = "crisis"
    if pending.due_on != was:  # the caseload (intake) shows the date it is now due
        uow.publish(
            ReviewScheduled(
                review_id=pending.id,
                plan_id=plan.id,
                client_id=plan.client_id,
                episode_id=plan.episode_id,
                due_on=pending.due_on,
                reason="crisis",
            )
        )
    return plan


def close_on_discharge(
    uow: UnitOfWork, data: Mapping[str, Any], now: datetime, policy: ReviewPolicy | None = None
) -> None:
    """The plan closes, and no one carries the episode any more: the former case manager and
    supervisor read it only for the continuity period (admins always), and a draft discharge
    summary waits for them."""
    plan = _plan_for_episode(uow, data["episode_id"])
    if plan is not None and plan.status != domain.PlanStatus.CLOSED:
        close_plan(uow, plan, "client discharged", now)
    care = _care(uow, data)
    if supersedes(data.get("care_version"), care.care_version):
        keep_continuity(uow, care, data, policy or ReviewPolicy())
        care.care_version = data.get("care_version")
        _set_carer(uow, care, None, None)


def record_referral_status(
    uow: UnitOfWork, data: Mapping[str, Any], today: date | None = None
) -> None:
    """The partner's progress on a referral strategy closes the loop on the plan. Events may arrive
    out of order (competing consumers, redelivery): only a newer status replaces an older one.
    A rejected or failed referral is a task for whoever carries the client."""
    if data["status"] in ("rejected", "failed"):
        task_for_referral(uow, data, data["status"], today or data["at"].date())
    if not data.get("strategy_id") or not data.get("plan_id"):
        return  # a referral made outside a plan
    if uow.session.get(Plan, data["plan_id"]) is None:
        return
    at = data["at"]  # loaded by the handler: an aware datetime
    # Locked: two workers handling two statuses of one referral at once compare each against
    # what the other committed, so the older never lands last.
    link = uow.session.get(StrategyReferral, data["strategy_id"], with_for_update=True)
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
