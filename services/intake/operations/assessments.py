"""Needs assessments scored by the server, and the risk flags they raise."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.intake import domain
from services.intake.models import (
    Assessment,
    RiskFlag,
)
from services.intake.operations.access import (
    audit,
    client_event_ids,
    load_client,
    open_episode,
    subject_of,
    supervisor_of,
)
from shared.errors import Conflict, NotFound, Unprocessable
from shared.identity import Principal
from shared.pagination import Page, keyset_page
from shared.unit_of_work import UnitOfWork


def score_instrument(instrument: str, scorer: Any, answers: Any) -> Any:
    try:
        return scorer(answers)
    except domain.InstrumentItemError as error:
        raise Unprocessable(f"{instrument}.{error.item}", error.message) from None


def record_assessment(
    uow: UnitOfWork,
    actor: Principal,
    client_id: str,
    submitted: Mapping[str, Any],
    *,
    supersedes_id: str | None = None,
) -> tuple[Assessment, RiskFlag | None]:
    client = load_client(uow, actor, client_id, for_update=True)
    episode = open_episode(client)
    version = 1
    if supersedes_id is not None:
        previous = uow.session.get(Assessment, supersedes_id)
        if previous is None or previous.client_id != client.id:
            raise NotFound(f"Client {client.reference} has no assessment {supersedes_id}.")
        if uow.session.scalars(
            select(Assessment.id).where(Assessment.supersedes_id == previous.id)
        ).first():
            raise Conflict("This version was already amended; amend the latest version.")
        version = previous.version + 1
    phq9 = (
        score_instrument("phq9", domain.score_phq9, submitted["phq9"]["items"])
        if submitted.get("phq9")
        else None
    )
    gad7 = (
        score_instrument("gad7", domain.score_gad7, submitted["gad7"]["items"])
        if submitted.get("gad7")
        else None
    )
    cssrs = (
        score_instrument(
            "cssrs", domain.score_cssrs_screener, domain.CssrsAnswers(**submitted["cssrs"])
        )
        if submitted.get("cssrs")
        else None
    )
    risk = domain.assess_risk(phq9, cssrs)
    ratings = {
        name: {"rating": str(value["rating"]), "notes": value.get("notes")}
        for name, value in submitted["domains"].items()
    }
    assessment = Assessment(
        client_id=client.id,
        episode_id=episode.id,
        version=version,
        supersedes_id=supersedes_id,
        domains=ratings,
        phq9=None
        if phq9 is None
        else {
            "items": list(submitted["phq9"]["items"]),
            "total": phq9.total,
            "severity": str(phq9.severity),
        },
        gad7=None
        if gad7 is None
        else {
            "items": list(submitted["gad7"]["items"]),
            "total": gad7.total,
            "severity": str(gad7.severity),
        },
        cssrs=None
        if cssrs is None
        else {"answers": dict(submitted["cssrs"]), "level": str(cssrs.level)},
        risk_level=str(risk.level),
        risk_reasons=list(risk.reasons),
        cssrs_screen_needed=risk.cssrs_screen_needed,
        assessed_by=actor.sub,
    )
    uow.session.add(assessment)
    try:
        uow.session.flush()
    except IntegrityError:
        raise Conflict("This version was already amended; amend the latest version.") from None
    audit(
        uow, actor, "amend" if supersedes_id else "assess", "assessment", assessment.id, client.id
    )
    supervisor_id = supervisor_of(uow, client.case_manager_id)
    uow.publish(
        "casehub.intake.assessment.completed.v1",
        subject=subject_of(client),
        data={
            **client_event_ids(client),
            "assessment_id": assessment.id,
            "version": version,
            "supersedes_assessment_id": supersedes_id,
            "completed_at": assessment.completed_at,
            "unmet_needs": domain.unmet_needs(
                {name: value["rating"] for name, value in ratings.items()}
            ),
            "phq9": None if phq9 is None else {"total": phq9.total, "severity": str(phq9.severity)},
            "gad7": None if gad7 is None else {"total": gad7.total, "severity": str(gad7.severity)},
            "cssrs_level": None if cssrs is None else str(cssrs.level),
            "risk_level": str(risk.level),
            "case_manager_id": client.case_manager_id,
        },
    )
    flag = None
    if domain.opens_risk_flag(risk.level):
        flag = RiskFlag(
            client_id=client.id,
            episode_id=episode.id,
            assessment_id=assessment.id,
            level=str(risk.level),
            reasons=list(risk.reasons),
        )
        uow.session.add(flag)
        uow.session.flush()
        audit(uow, actor, "flag", "risk_flag", flag.id, client.id, level=flag.level)
        uow.publish(
            "casehub.intake.risk.flagged.v1",
            subject=subject_of(client),
            data={
                **client_event_ids(client),
                "flag_id": flag.id,
                "assessment_id": assessment.id,
                "level": flag.level,
                "reasons": flag.reasons,
                "case_manager_id": client.case_manager_id,
                "supervisor_id": supervisor_id,
                "flagged_at": flag.opened_at,
            },
        )
    return assessment, flag


def list_assessments(
    uow: UnitOfWork, actor: Principal, client_id: str, *, limit: int, cursor: str | None
) -> Page[Assessment]:
    client = load_client(uow, actor, client_id)
    audit(uow, actor, "read", "assessment", None, client.id)
    return keyset_page(
        uow.session,
        select(Assessment).where(Assessment.client_id == client.id),
        [Assessment.completed_at, Assessment.version, Assessment.id],
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
    audit(uow, actor, "read", "assessment", assessment.id, client.id)
    return assessment


def superseded_by(uow: UnitOfWork, assessment: Assessment) -> str | None:
    return uow.session.scalars(
        select(Assessment.id).where(Assessment.supersedes_id == assessment.id)
    ).first()


def list_risk_flags(
    uow: UnitOfWork, actor: Principal, client_id: str, *, limit: int, cursor: str | None
) -> Page[RiskFlag]:
    client = load_client(uow, actor, client_id)
    audit(uow, actor, "read", "risk_flag", None, client.id)
    return keyset_page(
        uow.session,
        select(RiskFlag).where(RiskFlag.client_id == client.id),
        [RiskFlag.opened_at, RiskFlag.id],
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
    audit(uow, actor, "resolve", "risk_flag", flag.id, client.id)
    uow.publish(
        "casehub.intake.risk.resolved.v1",
        subject=subject_of(client),
        data={
            **client_event_ids(client),
            "flag_id": flag.id,
            "level": flag.level,
            "resolved_by": actor.sub,
            "resolved_at": flag.resolved_at,
        },
    )
    return flag
