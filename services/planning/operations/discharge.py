"""The discharge summary and what discharge leaves behind: the former case manager's read
access for the continuity period (audited like every read), and the episode's first and latest
PHQ-9 and GAD-7 from intake's events, so the summary states the start and the end."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from services.planning import domain
from services.planning.models import (
    AUDIT,
    DischargeSummary,
    EpisodeCare,
    EpisodeScores,
    FormerCarer,
    Plan,
    PlanVersion,
    ProgressNote,
)
from services.planning.operations.casework_access import (
    carried_clients,
    carrying,
    continuity_episodes,
)
from services.planning.settings import ReviewPolicy
from shared.errors import NotFound
from shared.identity import Principal
from shared.unit_of_work import UnitOfWork


def record_scores(uow: UnitOfWork, data: Mapping[str, Any]) -> bool:
    """Keep each scale's first and latest total of the episode, whatever order the events
    arrive in. True when no later assessment of the episode has been seen: this one is the
    latest (a late, older one is False)."""
    at = data["completed_at"]
    at = at if isinstance(at, datetime) else datetime.fromisoformat(at)
    scores = uow.session.get(EpisodeScores, data["episode_id"], with_for_update=True)
    if scores is None:
        scores = EpisodeScores(episode_id=data["episode_id"])
        uow.session.add(scores)
    for name in ("phq9", "gad7"):
        total = (data.get(name) or {}).get("total")
        if total is None:
            continue
        first, latest = getattr(scores, f"{name}_first_at"), getattr(scores, f"{name}_latest_at")
        if first is None or at < first:
            setattr(scores, f"{name}_start", total)
            setattr(scores, f"{name}_first_at", at)
        if latest is None or at >= latest:
            setattr(scores, f"{name}_end", total)
            setattr(scores, f"{name}_latest_at", at)
    newest = scores.latest_at is None or at >= scores.latest_at
    scores.first_at = min(filter(None, (scores.first_at, at)))
    scores.latest_at = max(filter(None, (scores.latest_at, at)))
    return newest


def keep_continuity(
    uow: UnitOfWork, care: EpisodeCare, data: Mapping[str, Any], policy: ReviewPolicy
) -> None:
    """On discharge: those who carried the episode read it for the continuity period, and a
    draft summary holds the reason and the date for them to complete."""
    discharged_at: datetime = data["discharged_at"]
    until = discharged_at + timedelta(days=policy.continuity_days)
    for carer in filter(None, {care.case_manager_id, care.supervisor_id}):
        if uow.session.get(FormerCarer, (care.episode_id, carer)) is None:
            uow.session.add(
                FormerCarer(
                    episode_id=care.episode_id,
                    carer_id=carer,
                    client_id=care.client_id,
                    until=until,
                )
            )
    summary = _summary(uow, care)
    summary.discharged_at = discharged_at
    summary.reason = summary.reason or data.get("reason_code")


def _summary(uow: UnitOfWork, care: EpisodeCare) -> DischargeSummary:
    summary = uow.session.get(DischargeSummary, care.episode_id, with_for_update=True)
    if summary is None:
        summary = DischargeSummary(
            episode_id=care.episode_id,
            client_id=care.client_id,
            client_reference=care.client_reference,
            services_received=[],
            told=[],
        )
        uow.session.add(summary)
    return summary


def _writable_episode(uow: UnitOfWork, actor: Principal, client_id: str) -> EpisodeCare:
    """The open episode the caller carries, else the latest one they still hold by continuity."""
    care = uow.session.scalars(
        select(EpisodeCare).where(
            EpisodeCare.client_id == client_id,
            EpisodeCare.case_manager_id.is_not(None),
            carrying(actor, write=True),
        )
    ).first()
    if care is None:
        care = uow.session.scalars(
            select(EpisodeCare)
            .join(FormerCarer, FormerCarer.episode_id == EpisodeCare.episode_id)
            .where(
                EpisodeCare.client_id == client_id,
                EpisodeCare.episode_id.in_(continuity_episodes(actor)),
                FormerCarer.carer_id == actor.sub,
            )
            .order_by(FormerCarer.until.desc())
        ).first()
    if care is None:
        raise NotFound(f"No client {client_id} on a caseload you carry or handed over.")
    return care


def write_summary(
    uow: UnitOfWork, actor: Principal, client_id: str, body: Mapping[str, Any], now: datetime
) -> DischargeSummary:
    care = _writable_episode(uow, actor, client_id)
    summary = _summary(uow, care)
    for field in ("reason", "follow_up"):
        if field in body:
            setattr(summary, field, body[field])
    for field in ("services_received", "told"):
        if field in body:
            setattr(summary, field, list(body[field]))
    summary.written_by, summary.updated_at = actor.sub, now
    uow.session.flush()
    AUDIT.record(
        uow.session,
        actor,
        "write_discharge_summary",
        "discharge_summary",
        care.episode_id,
        client_id,
        continuity=care.case_manager_id != actor.sub,
    )
    return summary


def _goals_achieved(uow: UnitOfWork, episode_id: str) -> list[dict[str, str]]:
    plan = uow.session.scalars(select(Plan).where(Plan.episode_id == episode_id)).first()
    if plan is None:
        return []
    content = uow.session.scalars(
        select(PlanVersion.content).where(
            PlanVersion.plan_id == plan.id,
            PlanVersion.number == (plan.approved_version or plan.current_version),
        )
    ).first() or {"goals": []}
    noted = set(
        uow.session.scalars(
            select(ProgressNote.goal_id).where(
                ProgressNote.plan_id == plan.id, ProgressNote.achieved.is_(True)
            )
        )
    )
    return [
        {"goal_id": goal["id"], "domain": goal["domain"]}
        for goal in content.get("goals") or []
        if goal.get("status") == domain.GoalStatus.ACHIEVED or goal["id"] in noted
    ]


@dataclass(frozen=True)
class SummaryRead:
    """A summary as read: its goals achieved, its scores, and until when the caller reads it
    (the end of their hand-over period; None when they carry the client now, or are an admin)."""

    summary: DischargeSummary
    goals_achieved: list[dict[str, str]]
    scores: EpisodeScores | None
    readable_until: datetime | None


def read_summary(uow: UnitOfWork, actor: Principal, client_id: str, now: datetime) -> SummaryRead:
    """The latest summary of the client's episodes the caller may read; before one is written,
    the current episode's draft (goals achieved and scores filled in, the rest empty)."""
    readable = list(
        uow.session.scalars(
            select(EpisodeCare).where(
                EpisodeCare.client_id == client_id, carrying(actor, write=False, now=now)
            )
        )
    )
    if not readable:
        raise NotFound(f"No client {client_id} that you may see.")
    summary = uow.session.scalars(
        select(DischargeSummary)
        .where(
            DischargeSummary.client_id == client_id,
            DischargeSummary.episode_id.in_([care.episode_id for care in readable]),
        )
        .order_by(DischargeSummary.updated_at.desc())
    ).first()
    if summary is None:
        care = next((c for c in readable if c.case_manager_id), readable[0])
        summary = DischargeSummary(
            episode_id=care.episode_id,
            client_id=care.client_id,
            client_reference=care.client_reference,
            services_received=[],
            told=[],
            updated_at=now,
        )
    held_now = uow.session.scalars(carried_clients(actor).where(EpisodeCare.client_id == client_id))
    continuity = held_now.first() is None and not actor.has_any("admin")
    AUDIT.record(
        uow.session,
        actor,
        "read",
        "discharge_summary",
        summary.episode_id,
        client_id,
        continuity=continuity,
    )
    former = uow.session.get(FormerCarer, (summary.episode_id, actor.sub)) if continuity else None
    return SummaryRead(
        summary,
        _goals_achieved(uow, summary.episode_id),
        uow.session.get(EpisodeScores, summary.episode_id),
        former.until if former is not None else None,
    )
