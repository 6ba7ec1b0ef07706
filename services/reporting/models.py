"""The reporting service's database: the read model projected from the events (dropped and
rebuilt at will from the platform's event archive, ``shared.messaging.archive``) and where the
last rebuild stands in that archive.

Only identifiers, codes, dates and scores: never names, dates of birth or free text. Every
projection row is keyed by the natural id of what it describes and each event fills only its own
columns, so the tables come out the same whatever order the events arrive in.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.audit import AuditTrail
from shared.db import TYPE_ANNOTATIONS, service_metadata
from shared.messaging.tables import messaging_tables

POSITION = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = service_metadata()
    type_annotation_map = TYPE_ANNOTATIONS


MESSAGING = messaging_tables(Base.metadata)
#: The audit trail every service keeps (``GET /audit``); figures are aggregates and not audited.
AUDIT = AuditTrail(Base.metadata)


class ArchiveReplay(Base):
    """A rebuild's place in the event archive: the offset last projected is written in the same
    transaction as that projection, so the row always says how far the read model has got."""

    __tablename__ = "archive_replay"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime]
    #: The archive's end when the read model was dropped: the replay reads up to it.
    end_mark: Mapped[str] = mapped_column(String(64))
    last_offset: Mapped[int | None] = mapped_column(POSITION)
    #: Events the replay projected, and those the inbox had already (the live consumer came
    #: first, or an earlier copy of the same event was replayed).
    replayed: Mapped[int] = mapped_column(Integer, default=0)
    already_handled: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime | None]


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
    programme: Mapped[str | None] = mapped_column(String(100), index=True)
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
    supersedes_assessment_id: Mapped[str | None] = mapped_column(String(36), index=True)
    episode_id: Mapped[str] = mapped_column(String(36), index=True)
    instrument: Mapped[str] = mapped_column(String(10))
    total: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[datetime]


class ReviewFact(Base):
    """A plan review: when it fell due and when it was held (either event may come first)."""

    __tablename__ = "reviews"
    review_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    episode_id: Mapped[str | None] = mapped_column(String(36), index=True)
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    held_at: Mapped[datetime | None]


class ReferralFact(Base):
    """A referral's milestones with a partner organisation."""

    __tablename__ = "referrals"
    referral_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(36), index=True)
    organization_id: Mapped[str] = mapped_column(String(100), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
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
    flagged_at: Mapped[datetime] = mapped_column(index=True)


class AcknowledgementFact(Base):
    """An urgent notification about a client acknowledged by a person."""

    __tablename__ = "acknowledgements"
    notification_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(36), index=True)
    acknowledged_at: Mapped[datetime]


# What the figures' queries (operations/queries.py, counted.py, attribution.py, caseload.py) look
# rows up by.
Index("ix_assignments_episode_time", AssignmentFact.episode_id, AssignmentFact.assigned_at)
Index("ix_episodes_client_registered", EpisodeFacts.client_id, EpisodeFacts.registered_at)
Index("ix_scores_series", ScoreFact.episode_id, ScoreFact.instrument, ScoreFact.taken_at)
Index(
    "ix_acknowledgements_client_time",
    AcknowledgementFact.client_id,
    AcknowledgementFact.acknowledged_at,
)

#: The read model: what a rebuild empties and refills (with the inbox, see rebuild.py).
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
