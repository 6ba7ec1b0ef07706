"""The reporting service's database: the event archive (append-only, kept across rebuilds) and
the read model projected from it (dropped and rebuilt at will).

Only identifiers, codes, dates and scores: never names, dates of birth or free text. Every
projection row is keyed by the natural id of what it describes and each event fills only its own
columns, so the tables come out the same whatever order the events arrive in.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.audit import AuditTrail
from shared.db import TYPE_ANNOTATIONS, service_metadata
from shared.messaging.tables import messaging_tables

POSITION = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = service_metadata()
    type_annotation_map = TYPE_ANNOTATIONS


MESSAGING = messaging_tables(Base.metadata)
#: Who read the event archive (it carries client ids); figures are aggregates and not audited.
AUDIT = AuditTrail(Base.metadata)


class ArchivedEvent(Base):
    """Every event the platform published, in arrival order; the source of a rebuild."""

    __tablename__ = "archived_events"
    position: Mapped[int] = mapped_column(POSITION, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    event_type: Mapped[str] = mapped_column(String(200), index=True)
    occurred_at: Mapped[datetime]
    archived_at: Mapped[datetime]
    #: The CloudEvent as received and validated (JSON text).
    envelope: Mapped[str] = mapped_column(Text)


class StaffMember(Base):
    """A case manager's team, supervisor and cap (the highest version seen wins)."""

    __tablename__ = "staff"
    case_manager_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    team: Mapped[str] = mapped_column(String(100), index=True)
    supervisor_id: Mapped[str | None] = mapped_column(String(128), index=True)
    caseload_cap: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool]
    version: Mapped[int] = mapped_column(Integer)


class EpisodeFacts(Base):
    """One episode of care: when it opened, its programme, discharge; never who the client is."""

    __tablename__ = "episodes"
    episode_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(36), index=True)
    registered_at: Mapped[datetime | None]
    programme: Mapped[str | None] = mapped_column(String(100))
    #: When the programme was last stated, so a late event never undoes a newer one.
    programme_stated_at: Mapped[datetime | None]
    discharged_at: Mapped[datetime | None]
    discharge_reason: Mapped[str | None] = mapped_column(String(100))
    first_plan_approved_at: Mapped[datetime | None]


class AssignmentFact(Base):
    """Each assignment of an episode to a case manager (the latest at a date is the current)."""

    __tablename__ = "assignments"
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    episode_id: Mapped[str] = mapped_column(String(36), index=True)
    case_manager_id: Mapped[str] = mapped_column(String(128), index=True)
    assigned_at: Mapped[datetime]


class ScoreFact(Base):
    """A PHQ-9 or GAD-7 total from a completed assessment."""

    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("assessment_id", "instrument"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    assessment_id: Mapped[str] = mapped_column(String(36), index=True)
    supersedes_assessment_id: Mapped[str | None] = mapped_column(String(36))
    episode_id: Mapped[str] = mapped_column(String(36), index=True)
    instrument: Mapped[str] = mapped_column(String(10))
    total: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[datetime]


class ReviewFact(Base):
    """A plan review: when it fell due and when it was held (either event may come first)."""

    __tablename__ = "reviews"
    review_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    episode_id: Mapped[str | None] = mapped_column(String(36), index=True)
    due_on: Mapped[date | None] = mapped_column(Date)
    held_at: Mapped[datetime | None]


class ReferralFact(Base):
    """A referral's milestones with a partner organisation."""

    __tablename__ = "referrals"
    referral_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(36), index=True)
    organization_id: Mapped[str] = mapped_column(String(100), index=True)
    sent_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    rejected_at: Mapped[datetime | None]
    rejection_reason: Mapped[str | None] = mapped_column(String(100))


class CrisisAlertFact(Base):
    """A risk flag (moderate or high): a crisis alert went out for it."""

    __tablename__ = "crisis_alerts"
    flag_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    episode_id: Mapped[str] = mapped_column(String(36), index=True)
    client_id: Mapped[str] = mapped_column(String(36), index=True)
    level: Mapped[str] = mapped_column(String(20))
    flagged_at: Mapped[datetime]


class AcknowledgementFact(Base):
    """An urgent notification about a client acknowledged by a person."""

    __tablename__ = "acknowledgements"
    notification_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(36), index=True)
    acknowledged_at: Mapped[datetime]


#: The read model: what a rebuild empties and refills (the archive and messaging tables stay).
READ_MODEL = (
    StaffMember,
    EpisodeFacts,
    AssignmentFact,
    ScoreFact,
    ReviewFact,
    ReferralFact,
    CrisisAlertFact,
    AcknowledgementFact,
)
