"""Retention after discharge: a legal hold stops it; when the period runs out intake erases its
own part (the reference, dates and episodes stay; names, contact, notes, assessments and
consents go), announces ``client.retention_expired`` and records what each service reports."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.intake import domain
from services.intake.events import ClientRetentionExpired
from services.intake.models import AUDIT, Base, Client, Episode, ErasureReport
from shared.db import insert_ignoring_duplicates, new_id
from shared.errors import NotFound
from shared.identity import Principal
from shared.retention import erase_client
from shared.unit_of_work import UnitOfWork

#: Kept when a record is erased: the client row (anonymised), episodes and assignment history
#: (dates and codes for the agency's figures), duplicate reviews and the erasure reports.
KEPT = ("clients", "episodes", "assignments", "duplicate_reviews", "erasure_reports")
ERASED = "(erased)"
SYSTEM = Principal(sub="retention", roles=frozenset({"system"}))


def _client(uow: UnitOfWork, client_id: str) -> Client:
    client = uow.session.get(Client, client_id, with_for_update=True)
    if client is None:
        raise NotFound(f"No client {client_id}.")
    return client


def expires_on(client: Client, years: float) -> date | None:
    """The day retention runs out: the years after the last discharge (None while in care)."""
    if client.status != domain.EpisodeStatus.DISCHARGED:
        return None
    closed = client.current_episode.closed_at
    return None if closed is None else (closed + timedelta(days=round(years * 365.25))).date()


def set_legal_hold(
    uow: UnitOfWork, actor: Principal, client_id: str, hold: bool, reason: str | None
) -> Client:
    client = _client(uow, client_id)
    client.legal_hold, client.legal_hold_reason = hold, reason if hold else None
    AUDIT.record(
        uow.session, actor, "retention.legal_hold", "client", client.id, client.id, hold=hold
    )
    return client


def retention_status(
    uow: UnitOfWork, actor: Principal, client_id: str, years: float
) -> dict[str, Any]:
    client = _client(uow, client_id)
    reports = uow.session.scalars(
        select(ErasureReport)
        .where(ErasureReport.client_id == client.id)
        .order_by(ErasureReport.service)
    ).all()
    AUDIT.record(uow.session, actor, "retention.read", "client", client.id, client.id)
    return {
        "client_id": client.id,
        "client_reference": client.reference,
        "legal_hold": client.legal_hold,
        "legal_hold_reason": client.legal_hold_reason,
        "retention_years": years,
        "expires_on": expires_on(client, years),
        "erased_at": client.erased_at,
        "reports": [
            {"service": r.service, "erased": r.erased, "reported_at": r.reported_at}
            for r in reports
        ],
    }


def _anonymise(client: Client, now: datetime) -> None:
    client.given_name = client.family_name = ERASED
    client.date_of_birth = date(1900, 1, 1)
    client.person_key = f"erased:{client.id}"
    client.contact, client.advance_statement = {}, None
    client.external_id = client.preferred_language = None
    client.erased_at = client.updated_at = now


def expire_due(uow: UnitOfWork, now: datetime, years: float, *, limit: int = 100) -> int:
    """Erase and announce every discharged client whose retention ran out (no legal hold),
    each once: the row is locked (SKIP LOCKED) and marked erased in the same transaction."""
    cutoff = now - timedelta(days=round(years * 365.25))
    last_closed = (
        select(Episode.client_id)
        .where(Episode.status == domain.EpisodeStatus.DISCHARGED, Episode.closed_at <= cutoff)
        .scalar_subquery()
    )
    candidates = uow.session.scalars(
        select(Client)
        .where(
            Client.status == domain.EpisodeStatus.DISCHARGED,
            Client.legal_hold.is_(False),
            Client.erased_at.is_(None),
            Client.id.in_(last_closed),
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    done = 0
    for client in candidates:
        if (expiry := expires_on(client, years)) is None or expiry > now.date():
            continue
        erased = erase_client(uow.session, Base.metadata, client.id, keep=KEPT)
        uow.session.expire(client, ["nominated_persons"])
        _anonymise(client, now)
        AUDIT.record(
            uow.session, SYSTEM, "retention.erased", "client", client.id, client.id, erased=erased
        )
        uow.publish(
            ClientRetentionExpired(
                client_id=client.id, client_reference=client.reference, expired_at=now
            )
        )
        record_erasure_report(uow, "intake", {"client_id": client.id, "erased": erased}, now)
        done += 1
    return done


def erased_among(session: Session, client_ids: Collection[str]) -> set[str]:
    """The ones of ``client_ids`` whose record intake has erased: the consumer handles no later
    event about them (a replayed assessment or consent would bring the record back)."""
    return set(
        session.scalars(
            select(Client.id).where(
                Client.id.in_(sorted(client_ids)), Client.erased_at.is_not(None)
            )
        )
    )


def record_erasure_report(
    uow: UnitOfWork, service: str, data: Mapping[str, Any], now: datetime
) -> bool:
    """A service's report of what it erased, kept once per service (a replay adds nothing)."""
    return bool(
        insert_ignoring_duplicates(
            uow.session,
            ErasureReport.__table__,  # type: ignore[arg-type]
            [
                {
                    "id": new_id(),
                    "client_id": data["client_id"],
                    "service": service,
                    "erased": dict(data.get("erased") or {}),
                    "reported_at": now,
                }
            ],
            ErasureReport.__table__.c.id,  # type: ignore[attr-defined]
        )
    )
