"""The notifications service's database: rules, people's contact preferences, who carries each
client (from intake's events), notifications, their deliveries and every attempt."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.notifications.domain import DeliveryStatus
from shared.audit import AuditTrail
from shared.care_team import CareTeam
from shared.db import TYPE_ANNOTATIONS, new_id, service_metadata, utc_now
from shared.messaging.tables import messaging_tables
from shared.retention import Erasures


class Base(DeclarativeBase):
    metadata = service_metadata()
    type_annotation_map = TYPE_ANNOTATIONS


MESSAGING = messaging_tables(Base.metadata)
AUDIT = AuditTrail(Base.metadata)
ERASURES = Erasures(Base.metadata)
CARE_TEAM = CareTeam(Base.metadata)


class Rule(Base):
    """Event type (and risk levels) -> recipients, channels, urgency, template."""

    __tablename__ = "rules"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    event_type: Mapped[str] = mapped_column(String(200), index=True)
    levels: Mapped[list[str] | None] = mapped_column(JSON)
    recipients: Mapped[list[str]] = mapped_column()
    channels: Mapped[list[str]] = mapped_column()
    urgency: Mapped[str] = mapped_column(String(20))
    template: Mapped[str] = mapped_column(String(50))
    escalate_after_minutes: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Preference(Base):
    """How a person (the ``sub`` of their token) wants to be reached."""

    __tablename__ = "preferences"
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(200))
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret: Mapped[str | None] = mapped_column(String(200))
    channels: Mapped[list[str]] = mapped_column(default=lambda: ["email", "in_app"])
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)
    daily_digest_at: Mapped[time | None] = mapped_column(Time)


class ClientCare(Base):
    """Who carries a client now, as intake announced it."""

    __tablename__ = "client_care"
    client_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_reference: Mapped[str] = mapped_column(String(20))
    case_manager_id: Mapped[str | None] = mapped_column(String(128), index=True)
    supervisor_id: Mapped[str | None] = mapped_column(String(128), index=True)
    #: intake's count of changes of who carries the client: an older event never wins.
    care_version: Mapped[int | None] = mapped_column(Integer)


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("event_id", "rule_id", name="uq_notifications_event_id_rule_id"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(200))
    rule_id: Mapped[str] = mapped_column(ForeignKey("rules.id"))
    client_id: Mapped[str | None] = mapped_column(String(36), index=True)
    client_reference: Mapped[str | None] = mapped_column(String(20))
    supervisor_id: Mapped[str | None] = mapped_column(String(128))
    urgency: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    escalate_at: Mapped[datetime | None] = mapped_column(index=True)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    #: W3C traceparent of the event's handling: the email is sent in that trace (one crisis
    #: alert, one trace from the assessment to the inbox).
    traceparent: Mapped[str | None] = mapped_column(String(55))


class Delivery(Base):
    """One notification x recipient x channel at one escalation level, created exactly once:
    level 0 is the alert itself, 1 and 2 the reminders of an unacknowledged crisis alert."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint(
            "notification_id",
            "recipient",
            "channel",
            "escalation_level",
            name="uq_deliveries_notification_recipient_channel_level",
        ),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    notification_id: Mapped[str] = mapped_column(ForeignKey("notifications.id"), index=True)
    #: Exactly a person's ``sub`` or an on-call address (``recipient_kind`` says which): compared
    #: with ``=``, never as a pattern.
    recipient: Mapped[str] = mapped_column(String(128), index=True)
    recipient_kind: Mapped[str] = mapped_column(String(20), default="person")
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING, index=True)
    digest: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utc_now)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)


class AppointmentReminder(Base):
    """An appointment to remind of the day before, from planning's events; one row per
    appointment, so however often its events arrive it is reminded once."""

    __tablename__ = "appointment_reminders"
    appointment_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(36), index=True)
    client_reference: Mapped[str] = mapped_column(String(20))
    case_manager_id: Mapped[str] = mapped_column(String(128))
    starts_at: Mapped[datetime]
    video: Mapped[bool] = mapped_column(Boolean, default=False)
    remind_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    settled_at: Mapped[datetime | None]


class ClientReminderContact(Base):
    """A client's consent to reminders and the one channel and address to use, as intake
    announced it. Withdrawn consent keeps no address."""

    __tablename__ = "client_reminder_contacts"
    client_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    consented: Mapped[bool] = mapped_column(Boolean)
    channel: Mapped[str | None] = mapped_column(String(10))
    address: Mapped[str | None] = mapped_column(String(254))
    #: intake's count of changes: an older event never wins.
    version: Mapped[int] = mapped_column(Integer)
