"""What partners hold: API keys, the cursor-paged event feed and webhook subscriptions."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from services.referrals.models import (
    AUDIT,
    ApiKey,
    Organization,
    PartnerEvent,
    WebhookDelivery,
    WebhookSubscription,
)
from services.referrals.operations.publishing import PARTNER_EVENT_TYPES
from shared.errors import Forbidden, NotFound, Unprocessable
from shared.identity import Principal
from shared.outbound import OutboundGuard, OutboundRefused
from shared.pagination import Page, is_position, keyset_page
from shared.unit_of_work import UnitOfWork
from shared.webhooks import new_secret


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
    """Events after the cursor in order of the organisation's own sequence (no ``after``: from
    its first event). The cursor returned is where to continue, also at the end, so a partner
    polls with it and gets each event exactly once; a cursor past the end was never returned."""
    if after is not None and not is_position(after):
        raise Unprocessable("after", "not a cursor this feed returned")
    position = int(after or 0)
    organization = uow.session.get(Organization, actor.org) if actor.org else None
    last = organization.feed_sequence if organization is not None else 0
    if position > last:
        raise Unprocessable("after", "past the end of your feed: not a cursor this feed returned")
    entries = list(
        uow.session.scalars(
            select(PartnerEvent)
            .where(PartnerEvent.organization_id == actor.org, PartnerEvent.sequence > position)
            .order_by(PartnerEvent.sequence)
            .limit(limit)
        )
    )
    return entries, str(entries[-1].sequence if entries else position)


def _own_subscription(
    uow: UnitOfWork, actor: Principal, subscription_id: str, *, lock: bool = False
) -> WebhookSubscription:
    subscription = uow.session.get(WebhookSubscription, subscription_id, with_for_update=lock)
    if subscription is None or subscription.organization_id != actor.org:
        raise NotFound(f"No subscription {subscription_id}.")
    return subscription


def _checked_url(url: str, outbound: OutboundGuard) -> str:
    try:
        outbound.check(url)
    except OutboundRefused as refused:
        raise Unprocessable("url", str(refused)) from None
    return url


def _checked_event_types(event_types: list[str]) -> list[str]:
    """Only types partners receive: a typo would otherwise silently never match."""
    unknown = sorted(set(event_types) - set(PARTNER_EVENT_TYPES))
    if unknown:
        raise Unprocessable(
            "event_types",
            f"not an event type partners receive: {', '.join(unknown)}; "
            f"known: {', '.join(PARTNER_EVENT_TYPES)}",
        )
    return list(dict.fromkeys(event_types))


def subscribe(
    uow: UnitOfWork, actor: Principal, values: Mapping[str, Any], outbound: OutboundGuard
) -> tuple[WebhookSubscription, str | None]:
    """A webhook to a public https endpoint only (``outbound`` checks the URL as resolved now;
    each delivery checks it again). Without a secret, Casehub makes a ``whsec_`` one, returned
    here once."""
    if actor.org is None or uow.session.get(Organization, actor.org) is None:
        raise Forbidden("Your credential names no partner organisation of the directory.")
    made = None if values.get("secret") else new_secret()
    subscription = WebhookSubscription(
        organization_id=actor.org,
        url=_checked_url(values["url"], outbound),
        secret=values.get("secret") or made,
        event_types=_checked_event_types(list(values.get("event_types") or [])),
    )
    uow.session.add(subscription)
    uow.session.flush()
    AUDIT.record(uow.session, actor, "subscribe", "webhook", subscription.id, None)
    return subscription, made


def change_subscription(
    uow: UnitOfWork,
    actor: Principal,
    subscription_id: str,
    changes: Mapping[str, Any],
    outbound: OutboundGuard,
) -> WebhookSubscription:
    """URL, event types and whether it is on; turning it on again starts a new failure count."""
    subscription = _own_subscription(uow, actor, subscription_id, lock=True)
    if "url" in changes:
        subscription.url = _checked_url(changes["url"], outbound)
    if "event_types" in changes:
        subscription.event_types = _checked_event_types(list(changes["event_types"] or []))
    if "active" in changes:
        if changes["active"] and not subscription.active:
            _turn_on(subscription)
        elif not changes["active"]:
            subscription.active = False
    AUDIT.record(
        uow.session, actor, "update", "webhook", subscription.id, None, fields=sorted(changes)
    )
    return subscription


def delete_subscription(uow: UnitOfWork, actor: Principal, subscription_id: str) -> None:
    """The subscription and its delivery log; the pull feed keeps every event."""
    subscription = _own_subscription(uow, actor, subscription_id, lock=True)
    uow.session.execute(
        delete(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id)
    )
    uow.session.delete(subscription)
    AUDIT.record(uow.session, actor, "delete", "webhook", subscription_id, None)


def rotate_secret(
    uow: UnitOfWork,
    actor: Principal,
    subscription_id: str,
    values: Mapping[str, Any],
    now: datetime,
) -> tuple[WebhookSubscription, str | None]:
    """A new secret signs from now on; the old one signs beside it for the overlap, so the
    partner can switch its verifier at any moment of that window without losing an event."""
    subscription = _own_subscription(uow, actor, subscription_id, lock=True)
    made = None if values.get("secret") else new_secret()
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_until = now + timedelta(seconds=values["overlap_seconds"])
    subscription.secret = values.get("secret") or made
    AUDIT.record(uow.session, actor, "rotate_secret", "webhook", subscription.id, None)
    return subscription, made


def signing_secrets(subscription: WebhookSubscription, now: datetime) -> list[str]:
    """The current secret, and the one it replaced while the overlap lasts."""
    previous = subscription.previous_secret
    until = subscription.previous_secret_until
    return [subscription.secret] + ([previous] if previous and until and now < until else [])


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
) -> Page[dict[str, Any]]:
    """In the order of the organisation's own feed (its sequence, never a number shared with
    other partners), each delivery with the event it carried."""
    subscription = _own_subscription(uow, actor, subscription_id)
    page = keyset_page(
        uow.session,
        select(WebhookDelivery, PartnerEvent)
        .join(PartnerEvent, PartnerEvent.id == WebhookDelivery.partner_event_id)
        .where(WebhookDelivery.subscription_id == subscription.id),
        [PartnerEvent.sequence],
        limit=limit,
        cursor=cursor,
        rows=True,
        key_values=lambda row: [row[1].sequence],
    )
    return Page(
        [
            {
                **{c.key: getattr(delivery, c.key) for c in WebhookDelivery.__table__.columns},
                "sequence": entry.sequence,
                "event_id": entry.cloudevent.get("id"),
                "event_type": entry.event_type,
            }
            for delivery, entry in page.items
        ],
        page.next_cursor,
    )


def _turn_on(subscription: WebhookSubscription) -> None:
    subscription.active, subscription.consecutive_failures = True, 0
    subscription.failing_since = None
    subscription.disabled_at = subscription.disabled_reason = None


def reactivate(uow: UnitOfWork, actor: Principal, subscription_id: str) -> WebhookSubscription:
    subscription = _own_subscription(uow, actor, subscription_id, lock=True)
    _turn_on(subscription)
    return subscription
