"""The intake service's database: clients and their episodes, consent, assessments, risk flags,
case managers and assignments, plus the audit trail, the outbox and the inbox."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Sequence,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.audit import AuditTrail
from shared.crypto import EncryptedJSON, EncryptedText
from shared.db import TYPE_ANNOTATIONS, new_id, service_metadata, utc_now
from shared.emergency_access import EmergencyGrants
from shared.messaging.tables import messaging_tables


class Base(DeclarativeBase):
    metadata = service_metadata()
    type_annotation_map = TYPE_ANNOTATIONS


MESSAGING = messaging_tables(Base.metadata)
AUDIT = AuditTrail(Base.metadata)
EMERGENCY_GRANTS = EmergencyGrants(Base.metadata)


class CaseManager(Base):
    """A case manager (their id is the ``sub`` of their token) with a caseload cap and a supervisor."""

    __tablename__ = "case_managers"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    team: Mapped[str] = mapped_column(String(100), index=True)
    supervisor_id: Mapped[str | None] = mapped_column(String(128), index=True)
    caseload_cap: Mapped[int] = mapped_column(Integer, default=50)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Counts the announced changes (``case_manager.updated``): other services keep the latest.
    version: Mapped[int] = mapped_column(Integer, default=0)


class Client(Base):
    __tablename__ = "clients"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(100), index=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date] = mapped_column(Date)
    person_key: Mapped[str] = mapped_column(String(300), index=True)
    preferred_language: Mapped[str | None] = mapped_column(String(50))
    contact: Mapped[dict[str, Any]] = mapped_column(default=dict)
    advance_statement: Mapped[str | None] = mapped_column(EncryptedText)
    status: Mapped[str] = mapped_column(String(20), default="open")
    case_manager_id: Mapped[str | None] = mapped_column(String(128), index=True)
    #: Counts the changes of who carries the client (assignment, discharge), carried in their
    #: events, so other services' access rules never go back to an older one.
    care_version: Mapped[int] = mapped_column(Integer, default=0)
    #: Retention stops while a legal hold is on (admin, with a reason).
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    legal_hold_reason: Mapped[str | None] = mapped_column(String(500))
    #: When retention ran out and the record was erased (the reference and dates remain).
    erased_at: Mapped[datetime | None]
    #: Set when a duplicate review merged this record into the surviving one.
    merged_into_id: Mapped[str | None] = mapped_column(String(36))
    registered_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
    episodes: Mapped[list[Episode]] = relationship(
        back_populates="client", order_by="Episode.number", lazy="selectin"
    )
    nominated_persons: Mapped[list[NominatedPerson]] = relationship(
        back_populates="client", lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def current_episode(self) -> Episode:
        return self.episodes[-1]


class Episode(Base):
    """One period of care; discharge closes it and re-admission opens the next."""

    __tablename__ = "episodes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    #: Indexed with the number (``ix_episodes_client_number``), which serves lookups by client too.
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="open")
    #: e.g. intensive case management, ACT team, housing first: reports group by it.
    programme: Mapped[str | None] = mapped_column(String(100))
    opened_at: Mapped[datetime] = mapped_column(default=utc_now)
    closed_at: Mapped[datetime | None]
    discharge_reason: Mapped[str | None] = mapped_column(String(100))
    case_manager_id: Mapped[str | None] = mapped_column(ForeignKey("case_managers.id"), index=True)
    next_review_due: Mapped[date | None] = mapped_column(Date)
    #: When planning raised the event that set ``next_review_due`` (an approval, a review falling
    #: due, the plan closing): an older one arriving later never overrides it.
    next_review_noted_at: Mapped[datetime | None]
    #: When the latest contact planning recorded for this episode happened (caseload column).
    last_contact_at: Mapped[datetime | None]
    client: Mapped[Client] = relationship(back_populates="episodes")


#: A client's episodes, and their current one (highest number) in one index probe: the caseload
#: reads it per row.
Index("ix_episodes_client_number", Episode.client_id, Episode.number)


class NominatedPerson(Base):
    """Family, carer or advocate, and which categories of information they may be told."""

    __tablename__ = "nominated_persons"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    relationship_to_client: Mapped[str] = mapped_column(String(30))
    phone: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(200))
    may_be_told: Mapped[list[str]] = mapped_column(default=list)
    client: Mapped[Client] = relationship(back_populates="nominated_persons")


class Consent(Base):
    __tablename__ = "consents"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    organization_id: Mapped[str] = mapped_column(String(100), index=True)
    categories: Mapped[list[str]] = mapped_column()
    starts_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    granted_by: Mapped[str] = mapped_column(String(128))
    granted_at: Mapped[datetime] = mapped_column(default=utc_now)
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(128))
    revocation_reason: Mapped[str | None] = mapped_column(String(500))
    expiry_announced: Mapped[bool] = mapped_column(Boolean, default=False)


class Assessment(Base):
    """Completed assessments are immutable; an amendment is a new version that supersedes one."""

    __tablename__ = "assessments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    episode_id: Mapped[str] = mapped_column(ForeignKey("episodes.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    supersedes_id: Mapped[str | None] = mapped_column(ForeignKey("assessments.id"), unique=True)
    #: Each domain's rating and notes, encrypted at rest (the notes are clinical free text).
    domains: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON)
    phq9: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    gad7: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    cssrs: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    risk_level: Mapped[str] = mapped_column(String(20))
    risk_reasons: Mapped[list[str]] = mapped_column()
    cssrs_screen_needed: Mapped[bool] = mapped_column(Boolean, default=False)
    assessed_by: Mapped[str] = mapped_column(String(128))
    completed_at: Mapped[datetime] = mapped_column(default=utc_now)


class RiskFlag(Base):
    __tablename__ = "risk_flags"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    episode_id: Mapped[str] = mapped_column(ForeignKey("episodes.id"))
    assessment_id: Mapped[str] = mapped_column(ForeignKey("assessments.id"))
    level: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[list[str]] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="open")
    opened_at: Mapped[datetime] = mapped_column(default=utc_now)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    resolution_note: Mapped[str | None] = mapped_column(EncryptedText)


Index("ix_risk_flags_open", RiskFlag.client_id, RiskFlag.status)


class Assignment(Base):
    """History of who carried an episode; the current one has no ``ended_at``."""

    __tablename__ = "assignments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    episode_id: Mapped[str] = mapped_column(ForeignKey("episodes.id"), index=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    case_manager_id: Mapped[str] = mapped_column(ForeignKey("case_managers.id"), index=True)
    method: Mapped[str] = mapped_column(String(20))
    assigned_by: Mapped[str] = mapped_column(String(128))
    assigned_at: Mapped[datetime] = mapped_column(default=utc_now)
    ended_at: Mapped[datetime | None]
    over_cap: Mapped[bool] = mapped_column(Boolean, default=False)
    override_reason: Mapped[str | None] = mapped_column(String(500))


class DuplicateReview(Base):
    """A registration that matched a client its registrar may not see: a supervisor or admin
    decides whether the two records are one person (``merged``) or not (``distinct``)."""

    __tablename__ = "duplicate_reviews"
    __table_args__ = (
        UniqueConstraint(
            "new_client_id", "existing_client_id", name="uq_duplicate_reviews_new_existing"
        ),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    new_client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    existing_client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    flagged_by: Mapped[str] = mapped_column(String(128))
    flagged_at: Mapped[datetime] = mapped_column(default=utc_now)
    outcome: Mapped[str | None] = mapped_column(String(20))
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    resolved_at: Mapped[datetime | None]
    resolution_note: Mapped[str | None] = mapped_column(String(500))


class ClientReferenceCounter(Base):
    """Allocates human-friendly client references (C-1001, C-1002, …) inside the transaction on
    SQLite (one writer at a time anyway); PostgreSQL uses ``CLIENT_REFERENCES`` instead."""

    __tablename__ = "client_reference_counter"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer)


#: References on PostgreSQL: claimed without a lock held to commit, so registrations do not queue
#: behind each other. Unique and in order of claim, but not gap-free: a registration that is
#: refused as a duplicate or rolled back leaves its number unused.
CLIENT_REFERENCES = Sequence("client_reference_seq", start=1001, metadata=Base.metadata)


class ErasureReport(Base):
    """What each service reported erasing when the client's retention ran out."""

    __tablename__ = "erasure_reports"
    __table_args__ = (
        UniqueConstraint("client_id", "service", name="uq_erasure_reports_client_id_service"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(String(36), index=True)
    service: Mapped[str] = mapped_column(String(50))
    erased: Mapped[dict[str, Any]] = mapped_column()
    reported_at: Mapped[datetime] = mapped_column(default=utc_now)


class Correction(Base):
    """The client's request to correct their record and its outcome: accepted (the record is
    amended, the event names the field) or refused (the client's statement is attached).
    Never a silent overwrite; the request and the statement are the client's words, encrypted."""

    __tablename__ = "corrections"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    field: Mapped[str] = mapped_column(String(50))
    requested_value: Mapped[str] = mapped_column(EncryptedText)
    reason: Mapped[str | None] = mapped_column(EncryptedText)
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime] = mapped_column(default=utc_now)
    status: Mapped[str] = mapped_column(String(20), default="requested")
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(EncryptedText)
    client_statement: Mapped[str | None] = mapped_column(EncryptedText)


class ReferralRequest(Base):
    """Someone a partner organisation referred to the agency: a new request for intake to
    register (or match to a known client), from referrals' ``inbound_referral.received``."""

    __tablename__ = "referral_requests"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(100), index=True)
    client_reference: Mapped[str | None] = mapped_column(String(20))
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(EncryptedText)
    domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    related_referral_id: Mapped[str | None] = mapped_column(String(36))
    received_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(20), default="new", index=True)
    #: How intake worked it: registered / matched (the client it became) or declined (why).
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(128))
    client_id: Mapped[str | None] = mapped_column(String(36))
    decision_reason: Mapped[str | None] = mapped_column(EncryptedText)


class ReassessmentNotice(Base):
    """A reassessment announced as due; the key makes the announcement happen once."""

    __tablename__ = "reassessment_notices"
    episode_id: Mapped[str] = mapped_column(ForeignKey("episodes.id"), primary_key=True)
    due_on: Mapped[date] = mapped_column(Date, primary_key=True)
    announced_at: Mapped[datetime] = mapped_column(default=utc_now)


class CareProfessional(Base):
    """Another professional in the client's care (psychiatrist, GP, therapist, pharmacist…)."""

    __tablename__ = "care_professionals"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    role: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    added_by: Mapped[str] = mapped_column(String(128))
    added_at: Mapped[datetime] = mapped_column(default=utc_now)
    ended_at: Mapped[datetime | None]


class ReportedMedication(Base):
    """A medication as the client (or their prescriber) reports it; never a prescription."""

    __tablename__ = "reported_medications"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    dose: Mapped[str | None] = mapped_column(String(100))
    prescriber: Mapped[str | None] = mapped_column(String(200))
    started_on: Mapped[date | None] = mapped_column(Date)
    stopped_on: Mapped[date | None] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(default=utc_now)


class ReminderConsent(Base):
    """The client's consent to appointment reminders and the one way to reach them (e-mail or
    SMS). Withdrawing it clears the address: nothing is kept that could still be used."""

    __tablename__ = "reminder_consents"
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), primary_key=True)
    consented: Mapped[bool] = mapped_column(Boolean)
    channel: Mapped[str | None] = mapped_column(String(10))
    address: Mapped[str | None] = mapped_column(String(254))
    recorded_by: Mapped[str] = mapped_column(String(128))
    changed_at: Mapped[datetime] = mapped_column(default=utc_now)
    #: Increases with every change, carried in the event so notifications keeps the newest.
    version: Mapped[int] = mapped_column(Integer, default=1)
