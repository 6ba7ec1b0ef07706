"""Outcomes over time: a client's PHQ-9 and GAD-7 series within an episode with the change from
baseline, reliable change, response and remission (shared/outcomes.py defines them), and the
reassessment that falls due a fixed interval after the latest assessment (sooner after high
risk), announced once so planning puts it on the case manager's worklist."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.intake import domain
from services.intake.events import ReassessmentDue
from services.intake.models import AUDIT, Assessment, Client, Episode, ReassessmentNotice, RiskFlag
from services.intake.operations.access import load_client
from services.intake.settings import ReassessmentPolicy
from shared.clock import agency_date
from shared.errors import NotFound
from shared.identity import Principal
from shared.outcomes import INSTRUMENTS, series_outcome
from shared.unit_of_work import UnitOfWork


def current_assessments(uow: UnitOfWork, episode_id: str) -> list[Assessment]:
    """The episode's assessments in the order taken, each as last amended (an amendment
    replaces the version it supersedes, at the original's place in the series)."""
    every = list(
        uow.session.scalars(
            select(Assessment)
            .where(Assessment.episode_id == episode_id)
            .order_by(Assessment.completed_at, Assessment.version, Assessment.id)
        )
    )
    by_id = {assessment.id: assessment for assessment in every}
    replaced_by = {a.supersedes_id: a for a in every if a.supersedes_id}
    series: list[Assessment] = []
    for assessment in every:
        if assessment.supersedes_id in by_id:
            continue  # shown at its original's place
        latest = assessment
        while latest.id in replaced_by:
            latest = replaced_by[latest.id]
        series.append(latest)
    return series


def _high_risk(uow: UnitOfWork, episode_id: str, latest: Assessment) -> bool:
    if latest.risk_level == domain.RiskLevel.HIGH:
        return True
    return (
        uow.session.scalars(
            select(RiskFlag.id).where(
                RiskFlag.episode_id == episode_id,
                RiskFlag.level == domain.RiskLevel.HIGH,
                RiskFlag.status == "open",
            )
        ).first()
        is not None
    )


def next_reassessment(
    uow: UnitOfWork, episode: Episode, series: list[Assessment], policy: ReassessmentPolicy
) -> tuple[date, str, Assessment] | None:
    """When the next assessment is due, why, and after which one (None before the first)."""
    if not series or episode.status != domain.EpisodeStatus.OPEN:
        return None
    latest = max(series, key=lambda a: a.completed_at)
    high = _high_risk(uow, episode.id, latest)
    days = policy.after_high_risk_days if high else policy.interval_days
    due = agency_date(latest.completed_at) + timedelta(days=days)
    return due, ("after_high_risk" if high else "routine"), latest


def client_outcomes(
    uow: UnitOfWork,
    actor: Principal,
    client_id: str,
    episode_id: str | None,
    policy: ReassessmentPolicy,
) -> dict[str, Any]:
    client = load_client(uow, actor, client_id)
    episode = next(
        (e for e in client.episodes if e.id == (episode_id or client.current_episode.id)), None
    )
    if episode is None:
        raise NotFound(f"Client {client.reference} has no episode {episode_id}.")
    series = current_assessments(uow, episode.id)
    AUDIT.record(uow.session, actor, "read", "outcomes", episode.id, client.id)
    instruments: dict[str, Any] = {}
    for name, instrument in INSTRUMENTS.items():
        scored = [a for a in series if getattr(a, name)]
        totals = [getattr(a, name)["total"] for a in scored]
        baseline = totals[0] if totals else None
        instruments[name] = {
            "series": [
                {
                    "assessment_id": a.id,
                    "taken_at": a.completed_at,
                    "total": total,
                    "severity": getattr(a, name)["severity"],
                    "change_from_baseline": total - baseline if baseline is not None else None,
                }
                for a, total in zip(scored, totals, strict=True)
            ],
            **asdict(series_outcome(totals, instrument)),
        }
    due = next_reassessment(uow, episode, series, policy)
    return {
        "client_id": client.id,
        "episode_id": episode.id,
        **instruments,
        "next_reassessment_due": due[0] if due else None,
        "reassessment_reason": due[1] if due else None,
    }


def announce_due_reassessments(
    uow: UnitOfWork, today: date, now: datetime, policy: ReassessmentPolicy
) -> int:
    """The scheduler: every open, assigned episode whose reassessment is due is announced once
    per due date (a notice row with that key, written with the event)."""
    announced = 0
    episodes = uow.session.scalars(
        select(Episode).where(
            Episode.status == domain.EpisodeStatus.OPEN, Episode.case_manager_id.is_not(None)
        )
    )
    for episode in list(episodes):
        due = next_reassessment(uow, episode, current_assessments(uow, episode.id), policy)
        if due is None or due[0] > today:
            continue
        due_on, reason, latest = due
        if uow.session.get(ReassessmentNotice, (episode.id, due_on)) is not None:
            continue
        try:
            with uow.session.begin_nested():
                uow.session.add(ReassessmentNotice(episode_id=episode.id, due_on=due_on))
        except IntegrityError:
            continue  # another worker announced it
        client = uow.session.get(Client, episode.client_id)
        assert client is not None
        uow.publish(
            ReassessmentDue(
                client_id=client.id,
                client_reference=client.reference,
                episode_id=episode.id,
                programme=episode.programme,
                due_on=due_on,
                reason=reason,
                last_assessment_id=latest.id,
                case_manager_id=episode.case_manager_id,
            )
        )
        announced += 1
    return announced
