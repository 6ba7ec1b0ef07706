"""Typed constructors of the events referrals publishes (contracts in shared/contracts/referrals.py).
Every one carries the referral's identifiers and status at the moment of the fact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

from shared.contracts.typed import TypedEvent

if TYPE_CHECKING:
    from services.referrals.models import Referral


@dataclass(frozen=True)
class ReferralEvent(TypedEvent):
    referral_id: str
    client_id: str
    client_reference: str
    organization_id: str
    service_id: str | None
    status: str
    plan_id: str | None
    strategy_id: str | None
    at: datetime

    @property
    def subject(self) -> str:
        return f"referral/{self.referral_id}"

    @classmethod
    def of(cls, referral: Referral, at: datetime, **extra: Any) -> Self:
        """The event about ``referral`` as it is now."""
        return cls(
            referral_id=referral.id,
            client_id=referral.client_id,
            client_reference=referral.client_reference,
            organization_id=referral.organization_id,
            service_id=referral.service_id,
            status=referral.status,
            plan_id=referral.plan_id,
            strategy_id=referral.strategy_id,
            at=at,
            **extra,
        )


@dataclass(frozen=True)
class ReferralCreated(ReferralEvent):
    TYPE = "casehub.referrals.referral.created.v1"


@dataclass(frozen=True)
class ReferralSent(ReferralEvent):
    TYPE = "casehub.referrals.referral.sent.v1"


@dataclass(frozen=True)
class ReferralStatusChanged(ReferralEvent):
    TYPE = "casehub.referrals.referral.status_changed.v1"
    from_status: str
    reason_code: str | None
    by_side: str


@dataclass(frozen=True)
class ReferralCompleted(ReferralEvent):
    TYPE = "casehub.referrals.referral.completed.v1"
    outcome: str | None


@dataclass(frozen=True)
class ReferralRejected(ReferralEvent):
    TYPE = "casehub.referrals.referral.rejected.v1"
    reason_code: str | None


@dataclass(frozen=True)
class ReferralFailed(ReferralEvent):
    TYPE = "casehub.referrals.referral.failed.v1"
    reason_code: str | None


@dataclass(frozen=True)
class ReferralCancelled(ReferralEvent):
    TYPE = "casehub.referrals.referral.cancelled.v1"
    reason_code: str | None
    by_side: str


@dataclass(frozen=True)
class ReferralOverdue(ReferralEvent):
    TYPE = "casehub.referrals.referral.overdue.v1"
    sent_at: datetime


@dataclass(frozen=True)
class ClientErased(TypedEvent):
    """What retention erased here, reported back to intake."""

    TYPE = "casehub.referrals.client.erased.v1"
    client_id: str
    erased_at: datetime
    erased: dict[str, int]


@dataclass(frozen=True)
class WebhookDisabled(TypedEvent):
    """A partner's webhook subscription kept failing and was turned off: its admin is told."""

    TYPE = "casehub.referrals.webhook.disabled.v1"
    subscription_id: str
    organization_id: str
    url: str
    failed_attempts: int
    failing_since: datetime
    disabled_at: datetime
    contact_email: str | None

    @property
    def subject(self) -> str:
        return f"organization/{self.organization_id}"


@dataclass(frozen=True)
class InboundReferralReceived(TypedEvent):
    """A partner refers someone to the agency: intake sees it as a new request."""

    TYPE = "casehub.referrals.inbound_referral.received.v1"
    inbound_referral_id: str
    organization_id: str
    client_reference: str | None
    given_name: str
    family_name: str
    phone: str | None
    email: str | None
    reason: str
    domains: list[str]
    related_referral_id: str | None
    received_at: datetime

    @property
    def subject(self) -> str:
        return f"inbound_referral/{self.inbound_referral_id}"


@dataclass(frozen=True)
class InboundReferralDecided(TypedEvent):
    TYPE = "casehub.referrals.inbound_referral.decided.v1"
    inbound_referral_id: str
    organization_id: str
    outcome: str
    reason: str | None
    decided_at: datetime

    @property
    def subject(self) -> str:
        return f"inbound-referral/{self.inbound_referral_id}"
