"""Typed constructors of the events notifications publishes (contracts in
shared/contracts/notifications.py). Each is about one notification."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.contracts.typed import TypedEvent


@dataclass(frozen=True)
class NotificationEvent(TypedEvent):
    notification_id: str
    client_id: str | None
    urgency: str

    @property
    def subject(self) -> str:
        return f"notification/{self.notification_id}"


@dataclass(frozen=True)
class NotificationDelivered(NotificationEvent):
    TYPE = "casehub.notifications.notification.delivered.v1"
    delivery_id: str
    recipient: str
    channel: str
    delivered_at: datetime


@dataclass(frozen=True)
class NotificationFailed(NotificationEvent):
    TYPE = "casehub.notifications.notification.failed.v1"
    delivery_id: str
    recipient: str
    channel: str
    attempts: int
    failed_at: datetime


@dataclass(frozen=True)
class NotificationEscalated(NotificationEvent):
    TYPE = "casehub.notifications.notification.escalated.v1"
    level: int
    escalated_to: list[str]
    escalated_at: datetime


@dataclass(frozen=True)
class NotificationAcknowledged(NotificationEvent):
    TYPE = "casehub.notifications.notification.acknowledged.v1"
    acknowledged_by: str
    acknowledged_at: datetime


@dataclass(frozen=True)
class ClientErased(TypedEvent):
    """What retention erased here, reported back to intake."""

    TYPE = "casehub.notifications.client.erased.v1"
    client_id: str
    erased_at: datetime
    erased: dict[str, int]
