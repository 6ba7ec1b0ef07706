"""Events the notifications service consumes, each mapped to a plain function (routing key -> handler).

Handlers only record what must be sent (notifications and deliveries, in the inbox transaction);
the dispatcher sends, so a slow mail server never stalls the consumer."""

from __future__ import annotations

from collections.abc import Callable

from services.notifications import operations
from services.notifications.channels import ChannelConfig
from services.notifications.events import ClientErased
from services.notifications.models import ERASURES, Base
from shared.clock import Clock
from shared.contracts import REGISTRY, Event
from shared.retention import retention_expired_handler
from shared.unit_of_work import UnitOfWork


def on_notifiable_event(
    event: Event, uow: UnitOfWork, *, settings: ChannelConfig, clock: Clock
) -> None:
    operations.notify(uow, event, settings, clock.now())


def on_case_assigned(
    event: Event, uow: UnitOfWork, *, settings: ChannelConfig, clock: Clock
) -> None:
    """A late assignment (superseded by a newer one) tells no one they have a new client."""
    if operations.record_assignment(uow, event.data):
        on_notifiable_event(event, uow, settings=settings, clock=clock)


def on_case_manager_updated(
    event: Event, uow: UnitOfWork, *, settings: ChannelConfig, clock: Clock
) -> None:
    operations.record_team_change(uow, event.data)


def on_client_discharged(
    event: Event, uow: UnitOfWork, *, settings: ChannelConfig, clock: Clock
) -> None:
    operations.record_discharge(uow, event.data)


def on_appointment_scheduled(
    event: Event, uow: UnitOfWork, *, settings: ChannelConfig, clock: Clock
) -> None:
    operations.record_appointment(uow, REGISTRY.load(event.type, event.data))


def on_appointment_status_changed(
    event: Event, uow: UnitOfWork, *, settings: ChannelConfig, clock: Clock
) -> None:
    operations.settle_appointment(uow, REGISTRY.load(event.type, event.data), clock.now())


def on_reminder_consent_changed(
    event: Event, uow: UnitOfWork, *, settings: ChannelConfig, clock: Clock
) -> None:
    operations.record_reminder_consent(uow, event.data)


EVENT_HANDLERS: dict[str, Callable[..., None]] = {
    "intake.client.retention_expired.v1": retention_expired_handler(
        Base.metadata, ERASURES, ClientErased
    ),
    "intake.risk.flagged.v1": on_notifiable_event,
    "intake.access.emergency_granted.v1": on_notifiable_event,
    "intake.case.assigned.v1": on_case_assigned,
    "intake.case_manager.updated.v1": on_case_manager_updated,
    "intake.client.discharged.v1": on_client_discharged,
    "intake.reminder_consent.changed.v1": on_reminder_consent_changed,
    "planning.appointment.scheduled.v1": on_appointment_scheduled,
    "planning.appointment.status_changed.v1": on_appointment_status_changed,
    "planning.review.due.v1": on_notifiable_event,
    "referrals.referral.completed.v1": on_notifiable_event,
    "referrals.referral.rejected.v1": on_notifiable_event,
    "referrals.referral.failed.v1": on_notifiable_event,
    "referrals.referral.overdue.v1": on_notifiable_event,
    "referrals.webhook.disabled.v1": on_notifiable_event,
}
