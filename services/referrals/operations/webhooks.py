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
from services.referrals.events import WebhookDisabled
from services.referrals.models import (
    Organization,
    PartnerEvent,
    WebhookDelivery,
    WebhookSubscription,
)
from services.referrals.operations.partners import signing_secrets
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
    a subscription whose endpoint kept failing through the whole backoff schedule. The delivery log says "delivery failed" or the HTTP
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
        post_signed(
            subscription.url,
            signing_secrets(subscription, now),
            entry.cloudevent,
            guard=outbound,
        )
    except DeliveryFailed as failed:
        delivery.last_error = str(failed)
        delivery.next_attempt_at = now + domain.webhook_backoff(delivery.attempts)
        _count_failure(uow, subscription, now)
        return 1
    delivery.status, delivery.delivered_at, delivery.last_error = "delivered", now, None
    subscription.consecutive_failures, subscription.failing_since = 0, None
    return 1


def admin_contact(organization: Organization | None) -> str | None:
    """The e-mail of the organisation's contact with ``role: admin``, else its first e-mail."""
    contacts = [c for c in (organization.contacts if organization else []) if isinstance(c, dict)]
    with_email = [c for c in contacts if c.get("email")]
    admins = [c for c in with_email if str(c.get("role", "")).lower() == "admin"]
    chosen = (admins or with_email or [None])[0]
    return str(chosen["email"]) if chosen else None


def _count_failure(uow: UnitOfWork, subscription: WebhookSubscription, now: datetime) -> None:
    """Failed attempts in a row over time: disabled only once they span the backoff schedule,
    and the partner's admin contact is told (notifications sends the e-mail)."""
    subscription.consecutive_failures += 1
    subscription.failing_since = subscription.failing_since or now
    if not domain.should_disable(
        subscription.consecutive_failures, subscription.failing_since, now
    ):
        return
    subscription.active, subscription.disabled_at = False, now
    subscription.disabled_reason = (
        f"disabled after {subscription.consecutive_failures} failed attempts in a row since "
        f"{subscription.failing_since.isoformat()}"
    )
    log.error(
        "webhook.disabled",
        subscription_id=subscription.id,
        organization=subscription.organization_id,
    )
    uow.publish(
        WebhookDisabled(
            subscription_id=subscription.id,
            organization_id=subscription.organization_id,
            url=subscription.url,
            failed_attempts=subscription.consecutive_failures,
            failing_since=subscription.failing_since,
            disabled_at=now,
            contact_email=admin_contact(
                uow.session.get(Organization, subscription.organization_id)
            ),
        )
    )
