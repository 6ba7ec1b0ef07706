"""Referrals' projections of intake's and planning's events: consent grants, who carries a
client, discharge, and draft referrals from a plan's referral strategies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from services.referrals import domain
from services.referrals.events import ReferralCreated
from services.referrals.models import CARE_TEAM, ClientCare, ConsentGrant, Referral, Service
from services.referrals.operations.access import R, consented_categories, open_referrals
from services.referrals.operations.moves import apply_move
from services.referrals.operations.publishing import publish
from shared.care_team import supersedes
from shared.clock import agency_date
from shared.logging import get_logger
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)


def record_consent(uow: UnitOfWork, data: Mapping[str, Any]) -> None:
    record_consents(uow, [data])


def record_consents(uow: UnitOfWork, grants: Sequence[Mapping[str, Any]]) -> None:
    """Consent grants (values as loaded: dates as dates), as if recorded one after another: a
    grant already known is left alone, and of a repeated id the first counts. One query finds
    the known ones, one insert adds the rest (a batch of the consumer costs two round trips)."""
    known = set(
        uow.session.scalars(
            select(ConsentGrant.consent_id).where(
                ConsentGrant.consent_id.in_({grant["consent_id"] for grant in grants})
            )
        )
    )
    new: dict[str, dict[str, Any]] = {}
    for grant in grants:
        if grant["consent_id"] in known or grant["consent_id"] in new:
            continue
        new[grant["consent_id"]] = {
            "consent_id": grant["consent_id"],
            "client_id": grant["client_id"],
            "organization_id": grant["organization_id"],
            "categories": list(grant["categories"]),
            "starts_on": grant["starts_on"],
            "expires_on": grant.get("expires_on"),
            "revoked": False,
        }
    if new:
        uow.session.execute(insert(ConsentGrant), list(new.values()))


def record_revocation(uow: UnitOfWork, data: Mapping[str, Any], now: datetime) -> None:
    """Revoked (or expired) consent: no more sharing, and open referrals to that organisation end.

    Locks the open referrals before the grant, in the order ``send`` takes them, so a send
    racing this revocation waits for it (or it for the send) instead of deadlocking."""
    to_cancel = open_referrals(
        uow, client_id=data["client_id"], organization_id=data["organization_id"]
    )
    grant = uow.session.get(ConsentGrant, data["consent_id"])
    if grant is None:
        # The revocation came before its grant (the grant retried, or another worker held it):
        # kept as revoked, so the grant arriving after finds it known and never makes it count.
        uow.session.add(
            ConsentGrant(
                consent_id=data["consent_id"],
                client_id=data["client_id"],
                organization_id=data["organization_id"],
                categories=list(data["categories"]),
                starts_on=agency_date(now),
                expires_on=None,
                revoked=True,
            )
        )
    else:
        grant.revoked = True
    if (
        consented_categories(uow, data["client_id"], data["organization_id"], agency_date(now))
        is None
    ):
        for referral in to_cancel:
            apply_move(
                uow,
                referral,
                domain.ReferralStatus.CANCELLED,
                by="system",
                side=R,
                reason_code="consent_revoked",
                note=None,
                now=now,
            )


def _care(uow: UnitOfWork, data: Mapping[str, Any]) -> ClientCare:
    care = uow.session.get(ClientCare, data["client_id"], with_for_update=True)
    if care is None:
        care = ClientCare(client_id=data["client_id"], client_reference=data["client_reference"])
        uow.session.add(care)
    return care


def record_assignment(uow: UnitOfWork, data: Mapping[str, Any]) -> None:
    """The new case manager (and their supervisor) see the client's referrals; the one before no
    longer does. A late event (an older ``care_version``) changes nothing."""
    care = _care(uow, data)
    if not supersedes(data.get("care_version"), care.care_version):
        return
    care.care_version = data.get("care_version")
    care.case_manager_id = data["case_manager_id"]
    care.supervisor_id = CARE_TEAM.supervisor_of(
        uow.session,
        data["case_manager_id"],
        announced=data.get("supervisor_id"),
        announced_version=data.get("case_manager_version"),
    )


def record_team_change(uow: UnitOfWork, data: Mapping[str, Any]) -> None:
    """A case manager moved team (or left): their clients' referrals follow the new supervisor."""
    if CARE_TEAM.record(uow.session, data):
        uow.session.execute(
            update(ClientCare)
            .where(ClientCare.case_manager_id == data["case_manager_id"])
            .values(supervisor_id=data.get("supervisor_id"))
        )


def record_discharge(uow: UnitOfWork, data: Mapping[str, Any], now: datetime) -> None:
    """Open referrals are cancelled and no one carries the client any more (admins still read).
    A discharge older than who carries the client now (re-admitted and assigned since, the
    discharge replayed late) changes nothing: the new episode's referrals stay."""
    care = _care(uow, data)
    if not supersedes(data.get("care_version"), care.care_version):
        return
    care.care_version = data.get("care_version")
    care.case_manager_id = care.supervisor_id = None
    for referral in open_referrals(uow, client_id=data["client_id"]):
        apply_move(
            uow,
            referral,
            domain.ReferralStatus.CANCELLED,
            by="system",
            side=R,
            reason_code="client_discharged",
            note=None,
            now=now,
        )


def draft_from_strategy(uow: UnitOfWork, data: Mapping[str, Any], now: datetime) -> Referral | None:
    """A plan's referral strategy becomes a draft referral (the case manager completes and sends
    it). One naming no service of the directory (yet) is still drafted, as needing a service, so
    it stays in view instead of being dropped."""
    if uow.session.scalars(
        select(Referral.id).where(Referral.strategy_id == data["strategy_id"])
    ).first():
        return None
    service = (
        uow.session.get(Service, data["partner_service_id"])
        if data.get("partner_service_id")
        else None
    )
    if service is None:
        log.info("referral.strategy_needs_a_service", strategy_id=data["strategy_id"])
    care = uow.session.get(ClientCare, data["client_id"])
    referral = Referral(
        client_id=data["client_id"],
        client_reference=data["client_reference"],
        episode_id=data["episode_id"],
        organization_id=service.organization_id if service else None,
        service_id=service.id if service else None,
        domain=data["domain"],
        plan_id=data["plan_id"],
        goal_id=data["goal_id"],
        strategy_id=data["strategy_id"],
        referrer_id=(
            care.case_manager_id if care and care.case_manager_id else data["requested_by"]
        ),
        created_at=now,
        updated_at=now,
    )
    uow.session.add(referral)
    uow.session.flush()
    publish(uow, ReferralCreated.of(referral, now), referral, now)
    return referral
