"""Appointment reminders: planning's appointment events kept as reminders, sent the agency's day
before to the case manager and, only with their consent, to the client by e-mail or SMS.

Each reminder is claimed with ``FOR UPDATE SKIP LOCKED`` and marked sent in the transaction that
records its notifications (unique per appointment and rule), so several workers and redelivered
events still remind once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from services.notifications import domain
from services.notifications.channels import CLIENT_TEMPLATES, ChannelConfig, render
from services.notifications.models import (
    AppointmentReminder,
    ClientReminderContact,
    Delivery,
    Notification,
    Rule,
)
from services.notifications.operations.from_events import deliver
from services.notifications.operations.signals import DISPATCH_NOW, log
from shared import tracing
from shared.clock import agency_zone, in_agency_zone
from shared.db import insert_ignoring_duplicates, signal_on_commit
from shared.unit_of_work import UnitOfWork

#: The rules that make reminders are keyed by the event that books the appointment.
APPOINTMENT_SCHEDULED = "planning.appointment.scheduled.v1"
Status = domain.ReminderStatus


def record_appointment(uow: UnitOfWork, data: Mapping[str, Any]) -> None:
    """A booked appointment waits for its reminder. A repeated event, or one arriving after the
    appointment was already called off (a late delivery), changes nothing."""
    starts_at: datetime = data["starts_at"]
    insert_ignoring_duplicates(
        uow.session,
        AppointmentReminder.__table__,
        [
            {
                "appointment_id": data["appointment_id"],
                "client_id": data["client_id"],
                "client_reference": data["client_reference"],
                "case_manager_id": data["case_manager_id"],
                "starts_at": starts_at,
                "video": bool(data.get("video")),
                "remind_at": domain.reminder_due_at(starts_at, agency_zone()),
                "status": str(Status.PENDING),
                "settled_at": None,
            }
        ],
        AppointmentReminder.__table__.c.appointment_id,
    )


def settle_appointment(uow: UnitOfWork, data: Mapping[str, Any], now: datetime) -> None:
    """Attended, cancelled, missed or rescheduled: its reminder is called off (a rescheduled one
    is reminded through its replacement's booking). Arriving before the booking it leaves a
    cancelled row, so the late booking cannot bring the reminder back."""
    reminder = uow.session.get(AppointmentReminder, data["appointment_id"], with_for_update=True)
    if reminder is None:
        record_appointment(uow, data)
        reminder = uow.session.get(AppointmentReminder, data["appointment_id"])
        assert reminder is not None
    if reminder.status == Status.PENDING:
        reminder.status, reminder.settled_at = str(Status.CANCELLED), now


def record_reminder_consent(uow: UnitOfWork, data: Mapping[str, Any]) -> None:
    """Keep the newest consent intake announced. A withdrawal forgets the address and calls off
    every client reminder still waiting, at once."""
    client_id = data["client_id"]
    contact = uow.session.get(ClientReminderContact, client_id, with_for_update=True)
    if contact is not None and contact.version >= data["version"]:
        return  # a late or repeated event: a newer change already counts
    if contact is None:
        contact = ClientReminderContact(client_id=client_id, version=data["version"])
        uow.session.add(contact)
    contact.version = data["version"]
    contact.consented = bool(data["consented"])
    contact.channel = data.get("channel") if contact.consented else None
    contact.address = data.get("address") if contact.consented else None
    if not contact.consented:
        uow.session.execute(
            update(Delivery)
            .where(
                Delivery.recipient == domain.CLIENT_PREFIX + client_id,
                Delivery.status == domain.DeliveryStatus.PENDING,
            )
            .values(status=str(domain.DeliveryStatus.CANCELLED), last_error="consent withdrawn")
        )


def remind_due(
    unit_of_work: Callable[[], AbstractContextManager[UnitOfWork]],
    config: ChannelConfig,
    now: datetime,
    *,
    limit: int = 500,
) -> int:
    """Every reminder due by ``now``, each in its own transaction; returns how many were sent."""
    sent = 0
    for _ in range(limit):
        with unit_of_work() as uow:
            reminder = uow.session.scalars(
                select(AppointmentReminder)
                .where(
                    AppointmentReminder.status == Status.PENDING,
                    AppointmentReminder.remind_at <= now,
                )
                .order_by(AppointmentReminder.remind_at, AppointmentReminder.appointment_id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if reminder is None:
                break
            if reminder.starts_at <= now:  # booked too late to remind anyone beforehand
                reminder.status, reminder.settled_at = str(Status.EXPIRED), now
                continue
            remind(uow, reminder, config, now)
            sent += 1
    return sent


def _when(starts_at: datetime) -> str:
    local = in_agency_zone(starts_at)
    return f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M}"


def remind(
    uow: UnitOfWork, reminder: AppointmentReminder, config: ChannelConfig, now: datetime
) -> None:
    """Each active reminder rule becomes one notification: the case manager's by their own
    preferences; the client's only when they consented, on the channel they chose."""
    reminder.status, reminder.settled_at = str(Status.SENT), now
    rules = uow.session.scalars(
        select(Rule).where(Rule.event_type == APPOINTMENT_SCHEDULED, Rule.active.is_(True))
    ).all()
    contact = uow.session.get(ClientReminderContact, reminder.client_id)
    for rule in rules:
        to_client = rule.template in CLIENT_TEMPLATES
        if to_client and (contact is None or not contact.consented or not contact.channel):
            continue
        notification = Notification(
            event_id=reminder.appointment_id,
            event_type=f"casehub.{APPOINTMENT_SCHEDULED}",
            rule_id=rule.id,
            client_id=reminder.client_id,
            client_reference=reminder.client_reference,
            urgency=rule.urgency,
            subject="",
            body="",
            traceparent=tracing.current_traceparent(),
        )
        uow.session.add(notification)
        uow.session.flush()
        notification.subject, notification.body = render(
            rule.template,
            client_reference=reminder.client_reference,
            app_url=config.app_url,
            notification_id=notification.id,
            when=_when(reminder.starts_at),
            video=reminder.video,
        )
        if to_client:
            assert contact is not None and contact.channel is not None
            uow.session.add(
                Delivery(
                    notification_id=notification.id,
                    recipient=domain.CLIENT_PREFIX + reminder.client_id,
                    recipient_kind=str(domain.RecipientKind.CLIENT),
                    escalation_level=0,
                    channel=contact.channel,
                    next_attempt_at=now,
                    digest=False,
                    status=domain.DeliveryStatus.PENDING,
                )
            )
            uow.session.flush()
            signal_on_commit(uow.session, DISPATCH_NOW)
        else:
            recipients = domain.resolve_recipients(
                rule.recipients, case_manager_id=reminder.case_manager_id, supervisor_id=None
            )
            deliver(uow, notification, recipients, rule.channels, now)
    log.info(
        "notification.appointment_reminded",
        appointment_id=reminder.appointment_id,
        client_id=reminder.client_id,
    )
