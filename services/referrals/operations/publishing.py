"""A referral's events, and the same facts on its partner's feed and webhooks once it was sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from services.referrals.events import (
    InboundReferralDecided,
    ReferralCancelled,
    ReferralCompleted,
    ReferralEvent,
    ReferralFailed,
    ReferralOverdue,
    ReferralRejected,
    ReferralSent,
    ReferralStatusChanged,
)
from services.referrals.models import (
    Organization,
    PartnerEvent,
    Referral,
    WebhookDelivery,
    WebhookSubscription,
)
from shared.contracts.typed import TypedEvent
from shared.unit_of_work import UnitOfWork

#: Internal identifiers a partner never sees in its copy of an event.
NOT_FOR_PARTNERS = ("client_id", "plan_id", "strategy_id")
#: Every event type that reaches partners (a draft's ``created`` never does): a subscription may
#: name only these.
PARTNER_EVENTS: tuple[type[TypedEvent], ...] = (
    ReferralSent,
    ReferralStatusChanged,
    ReferralCompleted,
    ReferralRejected,
    ReferralFailed,
    ReferralCancelled,
    ReferralOverdue,
    InboundReferralDecided,
)
PARTNER_EVENT_TYPES: tuple[str, ...] = tuple(kind.TYPE for kind in PARTNER_EVENTS)


def next_feed_position(uow: UnitOfWork, organization_id: str) -> int:
    """The organisation's next sequence number. The counter's row stays locked until commit, so
    one partner's events commit in the order of their numbers and a reader never skips one."""
    return uow.session.execute(
        update(Organization)
        .where(Organization.id == organization_id)
        .values(feed_sequence=Organization.feed_sequence + 1)
        .returning(Organization.feed_sequence)
        .execution_options(synchronize_session=False)
    ).scalar_one()


def publish(uow: UnitOfWork, event: ReferralEvent, referral: Referral, now: datetime) -> None:
    """The domain event, and the same fact on the partner's feed once the referral was sent
    (never for one that was not: a draft cancelled is none of the partner's business)."""
    if referral.sent_at is None or referral.organization_id is None:
        uow.publish(event)
        return
    publish_to_partner(uow, event, referral.organization_id, now)


def publish_to_partner(
    uow: UnitOfWork, event: TypedEvent, organization_id: str, now: datetime
) -> None:
    """The domain event, and the same fact (less internal ids) on the organisation's feed and
    to its webhook subscriptions that want this type."""
    published = uow.publish(event)
    partner_view = {
        k: v
        for k, v in published.to_cloudevent().items()
        if k not in ("correlationid", "causationid")
    }
    partner_view["data"] = {
        k: v for k, v in partner_view["data"].items() if k not in NOT_FOR_PARTNERS
    }
    entry = PartnerEvent(
        organization_id=organization_id,
        sequence=next_feed_position(uow, organization_id),
        event_type=published.type,
        cloudevent=partner_view,
        created_at=now,
    )
    uow.session.add(entry)
    uow.session.flush()
    for subscription in uow.session.scalars(
        select(WebhookSubscription).where(
            WebhookSubscription.organization_id == organization_id,
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
