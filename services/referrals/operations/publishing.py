"""A referral's events, and the same facts on its partner's feed and webhooks once it was sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from services.referrals.events import ReferralEvent
from services.referrals.models import PartnerEvent, Referral, WebhookDelivery, WebhookSubscription
from shared.unit_of_work import UnitOfWork

#: Internal identifiers a partner never sees in its copy of an event.
NOT_FOR_PARTNERS = ("client_id", "plan_id", "strategy_id")


def publish(uow: UnitOfWork, event: ReferralEvent, referral: Referral, now: datetime) -> None:
    """The domain event, and the same fact on the partner's feed once the referral was sent
    (never for one that was not: a draft cancelled is none of the partner's business)."""
    published = uow.publish(event)
    if referral.sent_at is None:
        return
    partner_view = {
        k: v
        for k, v in published.to_cloudevent().items()
        if k not in ("correlationid", "causationid")
    }
    partner_view["data"] = {
        k: v for k, v in partner_view["data"].items() if k not in NOT_FOR_PARTNERS
    }
    entry = PartnerEvent(
        organization_id=referral.organization_id,
        event_type=published.type,
        cloudevent=partner_view,
        created_at=now,
    )
    uow.session.add(entry)
    uow.session.flush()
    for subscription in uow.session.scalars(
        select(WebhookSubscription).where(
            WebhookSubscription.organization_id == referral.organization_id,
            WebhookSubscription.active.is_(True),
        )
    ):
        if not subscription.event_types or published.type in subscription.event_types:
            uow.session.add(
                WebhookDelivery(
                    subscription_id=subscription.id,
                    partner_event_id=entry.id,
                    next_attempt_at=now,
                )
            )
