"""People partners refer to the agency: the request goes to intake (its person's details are
not kept here); the partner follows it — received, then registered, matched or declined — on
``/partner/inbound-referrals``, its feed and its webhooks."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from services.referrals.events import InboundReferralDecided, InboundReferralReceived
from services.referrals.models import AUDIT, InboundReferral, Organization
from services.referrals.operations.access import load_referral
from services.referrals.operations.publishing import publish_to_partner
from shared.errors import Forbidden, NotFound
from shared.identity import Principal
from shared.pagination import Page, keyset_page
from shared.unit_of_work import UnitOfWork


def _partner_org(uow: UnitOfWork, actor: Principal) -> str:
    if actor.org is None or uow.session.get(Organization, actor.org) is None:
        raise Forbidden("Your credential names no partner organisation of the directory.")
    return actor.org


def refer_to_agency(
    uow: UnitOfWork, actor: Principal, values: Mapping[str, Any], now: datetime
) -> InboundReferral:
    """A partner refers someone to the agency: intake receives it as a new request. A related
    referral must be one of the partner's own (else 404, as anywhere)."""
    organization_id = _partner_org(uow, actor)
    related = values.get("related_referral_id")
    if related is not None:
        load_referral(uow, actor, related)
    event = InboundReferralReceived(
        inbound_referral_id=str(uuid.uuid4()),
        organization_id=organization_id,
        client_reference=values.get("client_reference"),
        given_name=values["given_name"],
        family_name=values["family_name"],
        phone=values.get("phone"),
        email=values.get("email"),
        reason=values["reason"],
        domains=list(values.get("domains") or []),
        related_referral_id=related,
        received_at=now,
    )
    inbound = InboundReferral(
        id=event.inbound_referral_id,
        organization_id=organization_id,
        related_referral_id=related,
        received_at=now,
        status="received",
    )
    uow.session.add(inbound)
    uow.publish(event)
    AUDIT.record(
        uow.session,
        actor,
        "refer_to_agency",
        "inbound_referral",
        inbound.id,
        None,
        organization_id=organization_id,
    )
    return inbound


def record_decision(uow: UnitOfWork, data: Mapping[str, Any], now: datetime) -> None:
    """Intake decided: the partner's inbound referral shows it, once (a redelivery finds it
    decided and changes nothing), and the partner's feed and webhooks carry it."""
    inbound = uow.session.get(InboundReferral, data["request_id"], with_for_update=True)
    if inbound is None or inbound.status != "received":
        return  # not one of ours (older than this table) or already told
    inbound.status, inbound.decided_at = data["outcome"], data["decided_at"]
    inbound.reason = data.get("reason")
    publish_to_partner(
        uow,
        InboundReferralDecided(
            inbound_referral_id=inbound.id,
            organization_id=inbound.organization_id,
            outcome=inbound.status,
            reason=inbound.reason,
            decided_at=inbound.decided_at,
        ),
        inbound.organization_id,
        now,
    )


def list_inbound(
    uow: UnitOfWork, actor: Principal, *, status: str | None, limit: int, cursor: str | None
) -> Page[InboundReferral]:
    """The caller's organisation's referrals to the agency, oldest first."""
    statement = select(InboundReferral).where(
        InboundReferral.organization_id == _partner_org(uow, actor)
    )
    if status:
        statement = statement.where(InboundReferral.status == status)
    return keyset_page(
        uow.session,
        statement,
        [InboundReferral.received_at, InboundReferral.id],
        limit=limit,
        cursor=cursor,
    )


def read_inbound(uow: UnitOfWork, actor: Principal, inbound_id: str) -> InboundReferral:
    inbound = uow.session.get(InboundReferral, inbound_id)
    if inbound is None or inbound.organization_id != _partner_org(uow, actor):
        raise NotFound(f"No referral {inbound_id} of yours to the agency.")
    return inbound
