"""Delivering partners' webhooks: one delivery per transaction (shared/dispatch.py, as
notifications sends), so no HTTP call holds a batch of locked rows and a crash repeats at most
the one delivery in flight."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from functools import partial

from sqlalchemy import select

from services.referrals import domain
from services.referrals.models import PartnerEvent, WebhookDelivery, WebhookSubscription
from shared.dispatch import deliver_one_at_a_time
from shared.logging import get_logger
from shared.outbound import OutboundGuard
from shared.unit_of_work import UnitOfWork
from shared.webhooks import DeliveryFailed, post_signed

log = get_logger(__name__)


def deliver_webhooks(
    unit_of_work: Callable[[], AbstractContextManager[UnitOfWork]],
    clock: Callable[[], datetime],
    *,
    outbound: OutboundGuard,
    limit: int = 50,
) -> int:
    """Send due partner webhooks where ``outbound`` allows them now; back off on failure; disable
    a subscription that keeps failing. The delivery log says "delivery failed" or the HTTP
    status class, never what the network did."""
    return deliver_one_at_a_time(
        unit_of_work, partial(deliver_next_webhook, outbound=outbound), clock, limit=limit
    )


def deliver_next_webhook(uow: UnitOfWork, now: datetime, *, outbound: OutboundGuard) -> int:
    """The oldest due delivery of an active subscription, claimed with SKIP LOCKED."""
    due = uow.session.execute(
        select(WebhookDelivery, WebhookSubscription, PartnerEvent)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .join(PartnerEvent, PartnerEvent.id == WebhookDelivery.partner_event_id)
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            WebhookSubscription.active.is_(True),
        )
        .order_by(WebhookDelivery.partner_event_id)
        .limit(1)
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    ).first()
    if due is None:
        return 0
    delivery, subscription, entry = due
    delivery.attempts += 1
    try:
        post_signed(subscription.url, subscription.secret, entry.cloudevent, guard=outbound)
    except DeliveryFailed as failed:
        delivery.last_error = str(failed)
        delivery.next_attempt_at = now + domain.webhook_backoff(delivery.attempts)
        subscription.consecutive_failures += 1
        if subscription.consecutive_failures >= domain.DISABLE_AFTER_FAILURES:
            subscription.active, subscription.disabled_at = False, now
            subscription.disabled_reason = (
                f"disabled after {subscription.consecutive_failures} failed deliveries"
            )
            log.error(
                "webhook.disabled",
                subscription_id=subscription.id,
                organization=subscription.organization_id,
            )
        return 1
    delivery.status, delivery.delivered_at, delivery.last_error = "delivered", now, None
    subscription.consecutive_failures = 0
    return 1
