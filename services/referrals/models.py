"""The referrals service's database: the resource directory, referrals and their transitions,
projections of consent and care from intake, partner credentials, the partner event feed and
webhook subscriptions with their delivery log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

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


class Organization(Base):
    """A partner organisation (Open Referral HSDS: organization + contacts)."""

    __tablename__ = "organizations"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    website: Mapped[str | None] = mapped_column(String(300))
    contacts: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: The last position of this organisation's own feed: each partner has its own sequence, so
    #: gaps in it never reveal another partner's activity.
    feed_sequence: Mapped[int] = mapped_column(Integer, default=0)


class Service(Base):
    """A service of an organisation at a location (HSDS service + service_capacity + location)."""

    __tablename__ = "services"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    domains: Mapped[list[str]] = mapped_column()
    eligibility: Mapped[str | None] = mapped_column(Text)
    languages: Mapped[list[str]] = mapped_column(default=list)
    fees: Mapped[str | None] = mapped_column(String(200))
    capacity_status: Mapped[str] = mapped_column(String(20), default="available")
    capacity_total: Mapped[int | None] = mapped_column(Integer)
    capacity_in_use: Mapped[int] = mapped_column(Integer, default=0)
    address: Mapped[str | None] = mapped_column(String(300))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)


class ConsentGrant(Base):
    """intake's consent events, kept here: never a call into intake's database."""

    __tablename__ = "consent_grants"
    consent_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(36), index=True)
    organization_id: Mapped[str] = mapped_column(String(100), index=True)
    categories: Mapped[list[str]] = mapped_column()
    starts_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class ClientCare(Base):
    """Who carries a client now, from intake's assignment, discharge and team events: the
    referrer-side access rules (never read from intake's database)."""

    __tablename__ = "client_care"
    client_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_reference: Mapped[str] = mapped_column(String(20))
    case_manager_id: Mapped[str | None] = mapped_column(String(128))
    supervisor_id: Mapped[str | None] = mapped_column(String(128))
    #: intake's count of changes of who carries the client: an older event never wins.
    care_version: Mapped[int | None] = mapped_column(Integer)


class Referral(Base):
    __tablename__ = "referrals"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(String(36), index=True)
    client_reference: Mapped[str] = mapped_column(String(20))
    episode_id: Mapped[str | None] = mapped_column(String(36))
    #: None while a draft from a plan's strategy waits for a service of the directory.
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    service_id: Mapped[str | None] = mapped_column(ForeignKey("services.id"))
    domain: Mapped[str | None] = mapped_column(String(50))
    plan_id: Mapped[str | None] = mapped_column(String(36))
    goal_id: Mapped[str | None] = mapped_column(String(36))
    strategy_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(30), default="draft", index=True)
    referrer_id: Mapped[str | None] = mapped_column(String(128), index=True)
    packet: Mapped[dict[str, Any]] = mapped_column(default=dict)
    outcome: Mapped[str | None] = mapped_column(Text)
    #: What the partner did, as the IG's Task.output "resulting-activity" values it sent over FHIR
    #: (``{"valueCodeableConcept": …}`` or ``{"valueReference": …}``), returned on the Task.
    resulting_activities: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    #: The client's consents (intake's ids) in force when it was sent, the ones it is shared
    #: under: the IG's ServiceRequest.supportingInfo.
    consent_ids: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
    overdue_announced: Mapped[bool] = mapped_column(Boolean, default=False)


class ReferralTransition(Base):
    """Every move: who, on which side, when, why, with a reason code."""

    __tablename__ = "referral_transitions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    by: Mapped[str] = mapped_column(String(128))
    side: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(default=utc_now)
    reason_code: Mapped[str | None] = mapped_column(String(50))
    note: Mapped[str | None] = mapped_column(Text)


class ApiKey(Base):
    """A partner's machine credential: only a SHA-256 of the secret is stored."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class PartnerEvent(Base):
    """The partner feed: the organisation's own ``sequence`` is the cursor, taken under a lock of
    the organisation's counter, so a reader never sees gaps or repeats."""

    __tablename__ = "partner_events"
    __table_args__ = (
        UniqueConstraint("organization_id", "sequence", name="uq_partner_events_org_sequence"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(String(100), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    event_type: Mapped[str] = mapped_column(String(200))
    cloudevent: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class InboundReferral(Base):
    """Someone a partner referred to the agency, as the partner may follow it: when, and how
    intake worked it. The person's details went to intake and are not kept here."""

    __tablename__ = "inbound_referrals"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(100), index=True)
    related_referral_id: Mapped[str | None] = mapped_column(String(36))
    received_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(20), default="received")
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(String(1000))


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(200))
    event_types: Mapped[list[str]] = mapped_column()
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Failed attempts in a row, whatever the event, and since when: disabling needs both.
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    #: The secret a rotation replaced: it signs beside the new one until ``..._until``.
    previous_secret: Mapped[str | None] = mapped_column(String(200))
    previous_secret_until: Mapped[datetime | None]


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint(
            "subscription_id", "partner_event_id", name="uq_webhook_deliveries_sub_event"
        ),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscriptions.id"), index=True)
    partner_event_id: Mapped[int] = mapped_column(ForeignKey("partner_events.id"))
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utc_now)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
