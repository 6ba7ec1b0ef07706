"""What partners hold: API keys, the cursor-paged event feed and webhook subscriptions."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from services.referrals.models import (
    AUDIT,
    ApiKey,
    Organization,
    PartnerEvent,
    WebhookDelivery,
    WebhookSubscription,
)
from shared.errors import Forbidden, NotFound, Unprocessable
from shared.identity import Principal
from shared.outbound import OutboundGuard, OutboundRefused
from shared.pagination import Page, is_position, keyset_page
from shared.unit_of_work import UnitOfWork


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_api_key(uow: UnitOfWork, actor: Principal, organization_id: str) -> tuple[ApiKey, str]:
    if uow.session.get(Organization, organization_id) is None:
        raise NotFound(f"No organisation {organization_id}.")
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    key = ApiKey(organization_id=organization_id, prefix=prefix, secret_hash=_hash(secret))
    uow.session.add(key)
    uow.session.flush()
    AUDIT.record(
        uow.session, actor, "issue", "api_key", key.id, None, organization_id=organization_id
    )
    return key, f"chk_{prefix}_{secret}"


def revoke_api_key(uow: UnitOfWork, actor: Principal, key_id: str, now: datetime) -> ApiKey:
    key = uow.session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"No API key {key_id}.")
    key.revoked_at = key.revoked_at or now
    AUDIT.record(
        uow.session, actor, "revoke", "api_key", key.id, None, organization_id=key.organization_id
    )
    return key


def organization_for_key(uow: UnitOfWork, presented: str, now: datetime) -> str | None:
    """The organisation an API key belongs to, if it is valid (constant-time comparison)."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != "chk":
        return None
    key = uow.session.scalars(select(ApiKey).where(ApiKey.prefix == parts[1])).first()
    if (
        key is None
        or key.revoked_at is not None
        or not secrets.compare_digest(key.secret_hash, _hash(parts[2]))
    ):
        return None
    key.last_used_at = now
    return key.organization_id


def feed(
    uow: UnitOfWork, actor: Principal, *, after: str | None, limit: int
) -> tuple[list[PartnerEvent], str]:
    """Events after the cursor in order. The cursor returned is where to continue, also at the
    end, so a partner polls with it and gets each event exactly once."""
    if after is not None and not is_position(after):
        raise Unprocessable("after", "not a cursor this feed returned")
    position = int(after or 0)
    entries = list(
        uow.session.scalars(
            select(PartnerEvent)
            .where(PartnerEvent.organization_id == actor.org, PartnerEvent.id > position)
            .order_by(PartnerEvent.id)
            .limit(limit)
        )
    )
    return entries, str(entries[-1].id if entries else position)


def subscribe(
    uow: UnitOfWork, actor: Principal, values: Mapping[str, Any], outbound: OutboundGuard
) -> WebhookSubscription:
    """A webhook to a public https endpoint only (``outbound`` checks the URL as resolved now;
    each delivery checks it again)."""
    if actor.org is None or uow.session.get(Organization, actor.org) is None:
        raise Forbidden("Your credential names no partner organisation of the directory.")
    try:
        outbound.check(values["url"])
    except OutboundRefused as refused:
        raise Unprocessable("url", str(refused)) from None
    subscription = WebhookSubscription(
        organization_id=actor.org,
        url=values["url"],
        secret=values["secret"],
        event_types=list(values.get("event_types") or []),
    )
    uow.session.add(subscription)
    uow.session.flush()
    AUDIT.record(uow.session, actor, "subscribe", "webhook", subscription.id, None)
    return subscription


def subscriptions(
    uow: UnitOfWork, actor: Principal, *, limit: int, cursor: str | None
) -> Page[WebhookSubscription]:
    return keyset_page(
        uow.session,
        select(WebhookSubscription).where(WebhookSubscription.organization_id == actor.org),
        [WebhookSubscription.id],
        limit=limit,
        cursor=cursor,
    )


def webhook_log(
    uow: UnitOfWork, actor: Principal, subscription_id: str, *, limit: int, cursor: str | None
) -> Page[WebhookDelivery]:
    subscription = uow.session.get(WebhookSubscription, subscription_id)
    if subscription is None or subscription.organization_id != actor.org:
        raise NotFound(f"No subscription {subscription_id}.")
    return keyset_page(
        uow.session,
        select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id),
        [WebhookDelivery.partner_event_id],
        limit=limit,
        cursor=cursor,
    )


def reactivate(uow: UnitOfWork, actor: Principal, subscription_id: str) -> WebhookSubscription:
    subscription = uow.session.get(WebhookSubscription, subscription_id)
    if subscription is None or subscription.organization_id != actor.org:
        raise NotFound(f"No subscription {subscription_id}.")
    subscription.active, subscription.consecutive_failures = True, 0
    subscription.disabled_at = subscription.disabled_reason = None
    return subscription
