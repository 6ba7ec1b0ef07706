"""Referrals from partner organisations to the agency: intake's new requests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from services.intake.events import ReferralRequestDecided
from services.intake.models import AUDIT, ReferralRequest
from services.intake.operations.access import load_client
from shared.errors import Conflict, NotFound, Unprocessable
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


def decide_referral_request(
    uow: UnitOfWork, actor: Principal, request_id: str, body: Mapping[str, Any], now: datetime
) -> ReferralRequest:
    """Work a new request once: ``registered`` or ``matched`` names the client it became (one the
    caller may see), ``declined`` gives the partner a reason. The partner learns the outcome
    through referrals (``referral_request.decided``), never the client's id or name."""
    request = uow.session.get(ReferralRequest, request_id, with_for_update=True)
    if request is None:
        raise NotFound(f"No referral request {request_id}.")
    if request.status != "new":
        raise Conflict("The referral request is already decided.", current_status=request.status)
    outcome = body["outcome"]
    reason = (body.get("reason") or "").strip() or None
    client_id = body.get("client_id")
    if outcome == "declined":
        if reason is None:
            raise Unprocessable("reason", "Say why it is declined; the partner reads it.")
        client_id = None
    else:
        if not client_id:
            raise Unprocessable("client_id", f"Name the client the request was {outcome} as.")
        load_client(uow, actor, client_id)
    request.status, request.decided_at, request.decided_by = outcome, now, actor.sub
    request.client_id, request.decision_reason = client_id, reason
    uow.publish(
        ReferralRequestDecided(
            request_id=request.id,
            organization_id=request.organization_id,
            outcome=outcome,
            reason=reason,
            decided_at=now,
        )
    )
    AUDIT.record(
        uow.session, actor, "decide", "referral_request", request.id, client_id, outcome=outcome
    )
    return request
