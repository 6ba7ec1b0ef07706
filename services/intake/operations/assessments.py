"""Needs assessments scored by the server, and the risk flags they raise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.intake import domain
from services.intake.events import AssessmentCompleted, RiskFlagged, RiskResolved
from services.intake.models import AUDIT, Assessment, Client, Episode, RiskFlag
from services.intake.operations.access import (
    client_event_ids,
    load_client,
    open_episode,
    page_of_client_records,
    supervisor_of,
)
from shared.errors import Conflict, NotFound
from shared.identity import Principal
from shared.pagination import Page
from shared.unit_of_work import UnitOfWork

#: The order of a client's assessments and risk flags (oldest first), wherever a page is read.
ASSESSMENT_ORDER = (Assessment.completed_at, Assessment.version, Assessment.id)
RISK_FLAG_ORDER = (RiskFlag.opened_at, RiskFlag.id)


def record_assessment(
    uow: UnitOfWork,
    actor: Principal,
    client_id: str,
    submitted: Mapping[str, Any],
    *,
    supersedes_id: str | None = None,
) -> tuple[Assessment, RiskFlag | None]:
    """Load the client and the version amended, score it in the domain, store the assessment
    (and a risk flag when the risk calls for one), then announce both."""
    client = load_client(uow, actor, client_id, for_update=True)
    episode = open_episode(client)
    version = _next_version(uow, client, supersedes_id)
    score = domain.score_assessment(submitted)

    assessment = Assessment(
        client_id=client.id,
        episode_id=episode.id,
        version=version,
        supersedes_id=supersedes_id,
        domains=score.ratings,
        phq9=_stored_score(submitted, "phq9", score.phq9),
        gad7=_stored_score(submitted, "gad7", score.gad7),
        cssrs=None
        if score.cssrs is None
        else {"answers": dict(submitted["cssrs"]), "level": str(score.cssrs.level)},
        risk_level=str(score.risk.level),
        risk_reasons=list(score.risk.reasons),
        cssrs_screen_needed=score.risk.cssrs_screen_needed,
        assessed_by=actor.sub,
    )
    uow.session.add(assessment)
    try:
        uow.session.flush()
    except IntegrityError:
        raise Conflict("This version was already amended; amend the latest version.") from None
    AUDIT.record(
        uow.session,
        actor,
        "amend" if supersedes_id else "assess",
        "assessment",
        assessment.id,
        client.id,
    )
    flag = _open_risk_flag(uow, actor, client, episode, assessment, score)

    uow.publish(
        AssessmentCompleted(
            **client_event_ids(client),
            assessment_id=assessment.id,
            version=version,
            supersedes_assessment_id=supersedes_id,
            completed_at=assessment.completed_at,
            unmet_needs=score.unmet_needs,
            phq9=score.summary("phq9"),
            gad7=score.summary("gad7"),
            cssrs_level=None if score.cssrs is None else str(score.cssrs.level),
            risk_level=str(score.risk.level),
            case_manager_id=client.case_manager_id,
        )
    )
    if flag is not None:
        uow.publish(
            RiskFlagged(
                **client_event_ids(client),
                flag_id=flag.id,
                assessment_id=assessment.id,
                level=flag.level,
                reasons=flag.reasons,
                case_manager_id=client.case_manager_id,
                supervisor_id=supervisor_of(uow, client.case_manager_id),
                flagged_at=flag.opened_at,
            )
        )
    return assessment, flag


def _next_version(uow: UnitOfWork, client: Client, supersedes_id: str | None) -> int:
    """1 for a first assessment; an amendment follows the version it amends, once."""
    if supersedes_id is None:
        return 1
    previous = uow.session.get(Assessment, supersedes_id)
    if previous is None or previous.client_id != client.id:
        raise NotFound(f"Client {client.reference} has no assessment {supersedes_id}.")
    if uow.session.scalars(
        select(Assessment.id).where(Assessment.supersedes_id == previous.id)
    ).first():
        raise Conflict("This version was already amended; amend the latest version.")
    return previous.version + 1


def _stored_score(
    submitted: Mapping[str, Any],
    instrument: str,
    scored: domain.Phq9Score | domain.Gad7Score | None,
) -> dict[str, Any] | None:
    if scored is None:
        return None
    return {
        "items": list(submitted[instrument]["items"]),
        "total": scored.total,
        "severity": str(scored.severity),
    }


def _open_risk_flag(
    uow: UnitOfWork,
    actor: Principal,
    client: Client,
    episode: Episode,
    assessment: Assessment,
    score: domain.AssessmentScore,
) -> RiskFlag | None:
    if not score.opens_risk_flag:
        return None
    flag = RiskFlag(
        client_id=client.id,
        episode_id=episode.id,
        assessment_id=assessment.id,
        level=str(score.risk.level),
        reasons=list(score.risk.reasons),
    )
    uow.session.add(flag)
    uow.session.flush()
    AUDIT.record(uow.session, actor, "flag", "risk_flag", flag.id, client.id, level=flag.level)
    return flag


def list_assessments(
    uow: UnitOfWork, actor: Principal, client_id: str, *, limit: int, cursor: str | None
) -> Page[Assessment]:
    return page_of_client_records(
        uow,
        actor,
        client_id,
        Assessment,
        ASSESSMENT_ORDER,
        kind="assessment",
        limit=limit,
        cursor=cursor,
    )


def read_assessment(
    uow: UnitOfWork, actor: Principal, client_id: str, assessment_id: str
) -> Assessment:
    client = load_client(uow, actor, client_id)
    assessment = uow.session.get(Assessment, assessment_id)
    if assessment is None or assessment.client_id != client.id:
        raise NotFound(f"Client {client.reference} has no assessment {assessment_id}.")
    AUDIT.record(uow.session, actor, "read", "assessment", assessment.id, client.id)
    return assessment


def superseded_by(uow: UnitOfWork, assessment: Assessment) -> str | None:
    return amendments_of(uow, [assessment]).get(assessment.id)


def amendments_of(uow: UnitOfWork, assessments: Sequence[Assessment]) -> dict[str, str]:
    """For each assessment that was amended, the id of the version amending it: one query for a
    page (a query per assessment before)."""
    ids = [assessment.id for assessment in assessments]
    if not ids:
        return {}
    rows = uow.session.execute(
        select(Assessment.supersedes_id, Assessment.id).where(Assessment.supersedes_id.in_(ids))
    )
    return {old: new for old, new in rows if old is not None}


def list_risk_flags(
    uow: UnitOfWork, actor: Principal, client_id: str, *, limit: int, cursor: str | None
) -> Page[RiskFlag]:
    return page_of_client_records(
        uow,
        actor,
        client_id,
        RiskFlag,
        RISK_FLAG_ORDER,
        kind="risk_flag",
        limit=limit,
        cursor=cursor,
    )


def resolve_risk_flag(
    uow: UnitOfWork, actor: Principal, client_id: str, flag_id: str, note: str, now: datetime
) -> RiskFlag:
    client = load_client(uow, actor, client_id, for_update=True)
    flag = uow.session.scalars(
        select(RiskFlag).where(RiskFlag.id == flag_id, RiskFlag.client_id == client.id)
    ).first()
    if flag is None:
        raise NotFound(f"Client {client.reference} has no risk flag {flag_id}.")
    if flag.status != "open":
        raise Conflict("This risk flag is already resolved.")
    flag.status, flag.resolved_at, flag.resolved_by, flag.resolution_note = (
        "resolved",
        now,
        actor.sub,
        note,
    )
    AUDIT.record(uow.session, actor, "resolve", "risk_flag", flag.id, client.id)
    uow.publish(
        RiskResolved(
            **client_event_ids(client),
            flag_id=flag.id,
            level=flag.level,
            resolved_by=actor.sub,
            resolved_at=flag.resolved_at,
        )
    )
    return flag
