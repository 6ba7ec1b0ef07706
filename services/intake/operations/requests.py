"""Referrals from partner organisations to the agency: intake's new requests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from services.intake.models import AUDIT, ReferralRequest
from shared.identity import Principal
from shared.pagination import Page, keyset_page
from shared.unit_of_work import UnitOfWork


def record_referral_request(uow: UnitOfWork, data: Mapping[str, Any]) -> None:
    """Once per inbound referral (a redelivered event finds it already there)."""
    if uow.session.get(ReferralRequest, data["inbound_referral_id"]) is not None:
        return
    uow.session.add(
        ReferralRequest(
            id=data["inbound_referral_id"],
            organization_id=data["organization_id"],
            client_reference=data.get("client_reference"),
            given_name=data["given_name"],
            family_name=data["family_name"],
            phone=data.get("phone"),
            email=data.get("email"),
            reason=data["reason"],
            domains=list(data.get("domains") or []),
            related_referral_id=data.get("related_referral_id"),
            received_at=data["received_at"],
        )
    )


def list_referral_requests(
    uow: UnitOfWork, actor: Principal, *, status: str | None, limit: int, cursor: str | None
) -> Page[ReferralRequest]:
    """Oldest first, so the longest waiting is seen first; each read is audited."""
    statement = select(ReferralRequest)
    if status:
        statement = statement.where(ReferralRequest.status == status)
    page = keyset_page(
        uow.session,
        statement,
        [ReferralRequest.received_at, ReferralRequest.id],
        limit=limit,
        cursor=cursor,
    )
    for request in page.items:
        AUDIT.record(uow.session, actor, "read", "referral_request", request.id, None, via="list")
    return page
