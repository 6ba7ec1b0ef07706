"""The dispatcher: due deliveries sent one per transaction with retries and backoff, ending
visibly in ``failed``."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, select

from services.notifications import domain
from services.notifications.channels import ChannelConfig, Mailer, send_sms, send_webhook
from services.notifications.events import NotificationDelivered, NotificationFailed
from services.notifications.models import (
    ClientReminderContact,
    Delivery,
    DeliveryAttempt,
    Notification,
    Preference,
)
from shared import tracing
from shared.dispatch import deliver_one_at_a_time
from shared.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    pass
from services.notifications.operations.signals import (
    DELIVERIES_FAILED,
    log,
)


class ConsentWithdrawn(LookupError):
    """The client no longer consents to reminders (or changed how to be reached): the delivery
    is cancelled, never retried."""


Sender = Callable[[Delivery, Notification, list[Notification]], None]
Clock = Callable[[], datetime]


def dispatch_due(
    unit_of_work: Callable[[], AbstractContextManager[UnitOfWork]],
    config: ChannelConfig,
    clock: Clock,
    *,
    limit: int = 500,
    mailer: Mailer | None = None,
) -> int:
    """Send what is due over one SMTP connection, each message in its own transaction: a crash
    repeats at most the one message in flight (with the same Message-ID), never a whole batch.
    The clock is read for every message, so an alert recorded while a run is sending goes out in
    this run instead of waiting for the next one. A ``mailer`` given is left open."""
    with nullcontext(mailer) if mailer is not None else Mailer(config) as open_mailer:
        return deliver_one_at_a_time(
            unit_of_work,
            partial(_dispatch_next, config=config, mailer=open_mailer),
            clock,
            limit=limit,
        )


def _dispatch_next(uow: UnitOfWork, now: datetime, *, config: ChannelConfig, mailer: Mailer) -> int:
    return dispatch_next(uow, config, mailer, now)


class Dispatcher:
    """Dispatcher runs that keep their SMTP connection between them: a run is mostly one alert's
    emails, and connecting and greeting the server again each time delayed the first of them.
    The connection is closed once no run has sent anything for ``idle_seconds``."""

    def __init__(self, clock: Clock, *, idle_seconds: float = 30.0) -> None:
        self.clock = clock
        self.idle_seconds = idle_seconds
        self._mailer: Mailer | None = None
        self._last_sent = time.monotonic()

    def run(
        self, unit_of_work: Callable[[], AbstractContextManager[UnitOfWork]], config: ChannelConfig
    ) -> int:
        if self._mailer is None or self._mailer.config != config:
            self.close()
            self._mailer = Mailer(config)
        sent = dispatch_due(unit_of_work, config, self.clock, mailer=self._mailer)
        if sent:
            self._last_sent = time.monotonic()
        elif time.monotonic() - self._last_sent >= self.idle_seconds:
            self._mailer.close()
        return sent

    def close(self) -> None:
        if self._mailer is not None:
            self._mailer.close()


def dispatch_next(uow: UnitOfWork, config: ChannelConfig, mailer: Mailer, now: datetime) -> int:
    """The most urgent due delivery (the oldest first within an urgency), with its digest
    companions; a failure is retried with backoff and ends visibly in ``failed``."""
    urgency_rank = case(
        domain.SENDING_ORDER, value=Notification.urgency, else_=len(domain.SENDING_ORDER)
    )
    due = (
        select(Delivery, Notification, Preference)
        .join(Notification, Notification.id == Delivery.notification_id)
        .outerjoin(
            Preference,
            and_(
                Preference.user_id == Delivery.recipient,
                Delivery.recipient_kind == domain.RecipientKind.PERSON,
            ),
        )
        .where(Delivery.status == domain.DeliveryStatus.PENDING, Delivery.next_attempt_at <= now)
        .order_by(urgency_rank, Delivery.next_attempt_at)
        .with_for_update(skip_locked=True, of=Delivery)
    )
    first = uow.session.execute(due.limit(1)).first()
    if first is None:
        return 0
    delivery, notification, preference = first
    group = [(delivery, notification)]
    if delivery.digest:
        companions = uow.session.execute(
            due.where(
                Delivery.digest.is_(True),
                Delivery.recipient == delivery.recipient,
                Delivery.channel == delivery.channel,
                Delivery.id != delivery.id,
            )
        ).all()
        group += [(companion, each) for companion, each, _ in companions]
    _attempt(uow, config, mailer, now, group, preference)
    return len(group)


def _attempt(
    uow: UnitOfWork,
    config: ChannelConfig,
    mailer: Mailer,
    now: datetime,
    group: list[tuple[Delivery, Notification]],
    preference: Preference | None,
) -> None:
    first, notification = group[0]
    try:
        with tracing.span(
            f"send {first.channel}",
            kind=tracing.SpanKind.CLIENT,
            parent=tracing.context_from(notification.traceparent),
            attributes={"casehub.delivery.id": first.id, "casehub.urgency": notification.urgency},
        ):
            if first.recipient_kind == domain.RecipientKind.CLIENT:
                _send_to_client(uow, config, mailer, first, notification)
            else:
                _send(config, mailer, first, [n for _, n in group], preference)
    except ConsentWithdrawn as withdrawn:
        for delivery, _ in group:
            delivery.status, delivery.last_error = domain.DeliveryStatus.CANCELLED, str(withdrawn)
        return
    except Exception as error:
        reason = f"{type(error).__name__}: {error}"[:500]
        for delivery, each in group:
            delivery.attempts += 1
            delivery.last_error = reason
            uow.session.add(
                DeliveryAttempt(delivery_id=delivery.id, at=now, succeeded=False, error=reason)
            )
            if delivery.attempts >= domain.MAX_ATTEMPTS:
                delivery.status = domain.DeliveryStatus.FAILED
                DELIVERIES_FAILED.labels(delivery.channel, each.urgency).inc()
                log.error(
                    "notification.delivery_failed",
                    delivery_id=delivery.id,
                    channel=delivery.channel,
                )
                uow.publish(
                    NotificationFailed(
                        notification_id=each.id,
                        client_id=each.client_id,
                        urgency=each.urgency,
                        delivery_id=delivery.id,
                        recipient=delivery.recipient,
                        channel=delivery.channel,
                        attempts=delivery.attempts,
                        failed_at=now,
                    )
                )
            else:
                delivery.next_attempt_at = now + domain.retry_delay(delivery.attempts)
        return
    for delivery, each in group:
        delivery.attempts += 1
        delivery.status, delivery.delivered_at = domain.DeliveryStatus.DELIVERED, now
        uow.session.add(DeliveryAttempt(delivery_id=delivery.id, at=now, succeeded=True))
        uow.publish(
            NotificationDelivered(
                notification_id=each.id,
                client_id=each.client_id,
                urgency=each.urgency,
                delivery_id=delivery.id,
                recipient=delivery.recipient,
                channel=delivery.channel,
                delivered_at=now,
            )
        )


def _send(
    config: ChannelConfig,
    mailer: Mailer,
    delivery: Delivery,
    notifications: list[Notification],
    preference: Preference | None,
) -> None:
    """``preference`` is the person's (read with the delivery); on-call has none."""
    if len(notifications) == 1:
        subject, body = notifications[0].subject, notifications[0].body
    else:
        subject = f"Casehub daily digest: {len(notifications)} items"
        body = (
            "\n\n".join(f"- {n.subject}" for n in notifications)
            + f"\n\nOpen Casehub: {config.app_url}"
        )
    on_call = delivery.recipient_kind == domain.RecipientKind.ON_CALL
    if delivery.channel == domain.Channel.EMAIL:
        if delivery.recipient_kind == domain.RecipientKind.ADDRESS:
            address = delivery.recipient.removeprefix(domain.ADDRESS_PREFIX)
        elif on_call and delivery.recipient == "intake_on_call":
            address = config.intake_on_call_email
        elif on_call:
            address = config.on_call_email
        else:
            if preference is None or not preference.email:
                raise LookupError("no email address on file")
            address = preference.email
        mailer.send(address, subject, body, message_id=f"<{delivery.id}@casehub>")
    elif delivery.channel == domain.Channel.WEBHOOK:
        if preference is None or not preference.webhook_url or not preference.webhook_secret:
            raise LookupError("no webhook on file")
        send_webhook(
            config,
            preference.webhook_url,
            preference.webhook_secret,
            {
                "specversion": "1.0",
                "type": "casehub.notifications.notification.v1",
                "source": "/notifications",
                "id": delivery.id,
                "subject": f"notification/{notifications[0].id}",
                "data": {"subject": subject, "body": body, "urgency": notifications[0].urgency},
            },
        )


def _send_to_client(
    uow: UnitOfWork,
    config: ChannelConfig,
    mailer: Mailer,
    delivery: Delivery,
    notification: Notification,
) -> None:
    """The client's consent is read again now, in the sending transaction: a withdrawal that
    arrived after the reminder was made still stops it."""
    contact = (
        uow.session.get(ClientReminderContact, notification.client_id)
        if notification.client_id
        else None
    )
    if contact is None or not contact.consented or not contact.address:
        raise ConsentWithdrawn("consent withdrawn")
    if contact.channel != delivery.channel:
        raise ConsentWithdrawn("the client chose another channel")
    if delivery.channel == domain.ClientChannel.SMS:
        send_sms(config, contact.address, notification.body, delivery.id)
    else:
        mailer.send(
            contact.address,
            notification.subject,
            notification.body,
            message_id=f"<{delivery.id}@casehub>",
        )
