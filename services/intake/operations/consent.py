"""Consent to share with named partner organisations: grant, revoke, expiry, whether in force."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from services.intake import domain
from services.intake.events import ConsentGranted, ConsentRevoked
from services.intake.models import (
    AUDIT,
    Consent,
)
from services.intake.operations.access import (
    load_client,
    page_of_client_records,
)
from shared.clock import in_agency_zone
from shared.errors import Conflict, NotFound, Unprocessable
from shared.identity import Principal
from shared.pagination import Page
from shared.unit_of_work import UnitOfWork

#: The order of a client's consents (oldest first), wherever a page of them is read.
CONSENT_ORDER = (Consent.granted_at, Consent.id)


def consent_in_force(consent: Consent, at: datetime) -> bool:
    """The shared rule (``shared.rules``) applied to a stored consent, on the agency's clock."""
    return domain.consent_in_force(
        starts_on=consent.starts_on,
        expires_on=consent.expires_on,
        revoked_at=aware(consent.revoked_at),
        at=in_agency_zone(at),
    )


def aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def grant_consent(
    uow: UnitOfWork, actor: Principal, client_id: str, grant: Mapping[str, Any]
) -> Consent:
    client = load_client(uow, actor, client_id, for_update=True)
    expires_on = grant.get("expires_on")
    if expires_on is not None and expires_on <= grant["starts_on"]:
        raise Unprocessable("expires_on", "must be after starts_on")
    consent = Consent(
        client_id=client.id,
        organization_id=grant["organization_id"],
        categories=sorted(set(grant["categories"])),
        starts_on=grant["starts_on"],
        expires_on=expires_on,
        granted_by=actor.sub,
    )
    uow.session.add(consent)
    uow.session.flush()
    AUDIT.record(
        uow.session,
        actor,
        "grant",
        "consent",
        consent.id,
        client.id,
        organization_id=consent.organization_id,
    )
    uow.publish(
        ConsentGranted(
            consent_id=consent.id,
            client_id=client.id,
            organization_id=consent.organization_id,
            categories=consent.categories,
            starts_on=consent.starts_on,
            expires_on=consent.expires_on,
        )
    )
    return consent


def list_consents(
    uow: UnitOfWork, actor: Principal, client_id: str, *, limit: int, cursor: str | None
) -> Page[Consent]:
    return page_of_client_records(
        uow,
        actor,
        client_id,
        Consent,
        CONSENT_ORDER,
        kind="consent",
        limit=limit,
        cursor=cursor,
    )


def revoke_consent(
    uow: UnitOfWork, actor: Principal, client_id: str, consent_id: str, reason: str, now: datetime
) -> Consent:
    client = load_client(uow, actor, client_id, for_update=True)
    consent = uow.session.scalars(
        select(Consent).where(Consent.id == consent_id, Consent.client_id == client.id)
    ).first()
    if consent is None:
        raise NotFound(f"Client {client.reference} has no consent {consent_id}.")
    if consent.revoked_at is not None:
        raise Conflict("This consent is already revoked.")
    consent.revoked_at, consent.revoked_by, consent.revocation_reason = now, actor.sub, reason
    AUDIT.record(uow.session, actor, "revoke", "consent", consent.id, client.id)
    publish_revoked(uow, consent, "revoked", now)
    return consent


def publish_revoked(uow: UnitOfWork, consent: Consent, reason: str, now: datetime) -> None:
    uow.publish(
        ConsentRevoked(
            consent_id=consent.id,
            client_id=consent.client_id,
            organization_id=consent.organization_id,
            categories=consent.categories,
            revoked_at=consent.revoked_at or now,
            reason=reason,
        )
    )


def announce_expired_consents(uow: UnitOfWork, today: date, now: datetime | None = None) -> int:
    """An expired consent counts as revoked: say so once, so consumers stop sharing data."""
    announced_at = now or datetime.now(UTC)
    expired = list(
        uow.session.scalars(
            select(Consent)
            .where(
                Consent.expires_on <= today,
                Consent.revoked_at.is_(None),
                Consent.expiry_announced.is_(False),
            )
            .with_for_update(skip_locked=True)
        )
    )
    for consent in expired:
        consent.expiry_announced = True
        publish_revoked(uow, consent, "expired", announced_at)
    return len(expired)
