"""The planning service's database: service plans and their versions, progress notes, reviews,
a projection of who carries each episode (from intake's events), the audit trail, outbox, inbox."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.audit import AuditTrail
from shared.care_team import CareTeam
from shared.crypto import EncryptedJSON, EncryptedText
from shared.db import TYPE_ANNOTATIONS, new_id, service_metadata, utc_now
from shared.emergency_access import EmergencyGrants
from shared.messaging.tables import messaging_tables
from shared.retention import Erasures


class Base(DeclarativeBase):
    metadata = service_metadata()
    type_annotation_map = TYPE_ANNOTATIONS


MESSAGING = messaging_tables(Base.metadata)
AUDIT = AuditTrail(Base.metadata)
ERASURES = Erasures(Base.metadata)
CARE_TEAM = CareTeam(Base.metadata)
EMERGENCY_GRANTS = EmergencyGrants(Base.metadata)


class EpisodeCare(Base):
    """Who carries an episode, as intake announced it (never read from intake's database)."""

    __tablename__ = "episode_care"
    episode_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(36), index=True)
    client_reference: Mapped[str] = mapped_column(String(20))
    case_manager_id: Mapped[str | None] = mapped_column(String(128))
    supervisor_id: Mapped[str | None] = mapped_column(String(128))
    #: intake's count of changes of who carries the client: an older event never wins.
    care_version: Mapped[int | None] = mapped_column(Integer)


class Plan(Base):
    """The individual service plan of one episode; its content lives in versions."""

    __tablename__ = "plans"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(String(36), index=True)
    client_reference: Mapped[str] = mapped_column(String(20))
    episode_id: Mapped[str] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    owner_id: Mapped[str | None] = mapped_column(String(128), index=True)
    supervisor_id: Mapped[str | None] = mapped_column(String(128), index=True)
    safety_plan_required: Mapped[bool] = mapped_column(Boolean, default=False)
    latest_assessment_id: Mapped[str | None] = mapped_column(String(36))
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    approved_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    approved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    close_reason: Mapped[str | None] = mapped_column(String(100))


class PlanVersion(Base):
    """A snapshot of goals, strategies and safety plan; approved versions never change."""

    __tablename__ = "plan_versions"
    __table_args__ = (
        UniqueConstraint("plan_id", "number", name="uq_plan_versions_plan_id_number"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    #: Goals in the client's words and the safety plan: encrypted at rest.
    content: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    created_by: Mapped[str] = mapped_column(String(128))
    approved_at: Mapped[datetime | None]
    approved_by: Mapped[str | None] = mapped_column(String(128))
    agreement: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ProgressNote(Base):
    __tablename__ = "progress_notes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    goal_id: Mapped[str] = mapped_column(String(36), index=True)
    note: Mapped[str] = mapped_column(EncryptedText)
    attainment: Mapped[int] = mapped_column(Integer)
    achieved: Mapped[bool] = mapped_column(Boolean, default=False)
    written_by: Mapped[str] = mapped_column(String(128))
    written_at: Mapped[datetime] = mapped_column(default=utc_now)


class Review(Base):
    """A scheduled plan review; ``due_announced_at`` makes ``review.due`` go out exactly once."""

    __tablename__ = "reviews"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    reason: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    due_announced_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class StrategyReferral(Base):
    """Where a referral strategy stands at the partner, from the referrals service's events."""

    __tablename__ = "strategy_referrals"
    strategy_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    referral_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(30))
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class CrisisEpisode(Base):
    """A crisis: opened by a high risk flag (once per flag) or a reported hospital discharge,
    what was done, its outcome, closed with a note (encrypted: clinical free text)."""

    __tablename__ = "crisis_episodes"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_crisis_episodes_source_source_id"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(String(36), index=True)
    client_reference: Mapped[str] = mapped_column(String(20))
    episode_id: Mapped[str] = mapped_column(String(36), index=True)
    source: Mapped[str] = mapped_column(String(30))
    source_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(20), default="open")
    opened_at: Mapped[datetime] = mapped_column(default=utc_now)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    outcome: Mapped[str | None] = mapped_column(String(30))
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(128))
    close_note: Mapped[str | None] = mapped_column(EncryptedText)


class Contact(Base):
    """A contact with (or, collateral, about) the client and its DAP note. Once signed the note
    never changes: corrections are addenda."""

    __tablename__ = "contacts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(String(36), index=True)
    client_reference: Mapped[str] = mapped_column(String(20))
    episode_id: Mapped[str] = mapped_column(String(36), index=True)
    case_manager_id: Mapped[str] = mapped_column(String(128), index=True)
    contact_type: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column()
    duration_minutes: Mapped[int] = mapped_column(Integer)
    location: Mapped[str | None] = mapped_column(String(200))
    participants: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(String(500))
    note: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON)
    goal_ids: Mapped[list[str]] = mapped_column(JSON)
    appointment_id: Mapped[str | None] = mapped_column(String(36))
    recorded_at: Mapped[datetime] = mapped_column(default=utc_now)
    recorded_by: Mapped[str] = mapped_column(String(128))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    signed_at: Mapped[datetime | None]
    signed_by: Mapped[str | None] = mapped_column(String(128))


class ContactAddendum(Base):
    """A later correction or addition to a signed contact note; the note itself stays as signed."""

    __tablename__ = "contact_addenda"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), index=True)
    text: Mapped[str] = mapped_column(EncryptedText)
    written_by: Mapped[str] = mapped_column(String(128))
    written_at: Mapped[datetime] = mapped_column(default=utc_now)


class Appointment(Base):
    __tablename__ = "appointments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(String(36), index=True)
    client_reference: Mapped[str] = mapped_column(String(20))
    episode_id: Mapped[str] = mapped_column(String(36), index=True)
    case_manager_id: Mapped[str] = mapped_column(String(128), index=True)
    starts_at: Mapped[datetime] = mapped_column(index=True)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    location: Mapped[str | None] = mapped_column(String(200))
    video_link: Mapped[str | None] = mapped_column(String(500))
    with_whom: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    status_reason: Mapped[str | None] = mapped_column(String(500))
    contact_id: Mapped[str | None] = mapped_column(String(36))
    rescheduled_to_id: Mapped[str | None] = mapped_column(String(36))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Task(Base):
    """One thing a case manager has to do; ``source_key`` makes an event's task exactly once."""

    __tablename__ = "tasks"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    source: Mapped[str] = mapped_column(String(30))
    source_key: Mapped[str] = mapped_column(String(200), unique=True)
    owner_id: Mapped[str | None] = mapped_column(String(128), index=True)
    client_id: Mapped[str | None] = mapped_column(String(36), index=True)
    client_reference: Mapped[str | None] = mapped_column(String(20))
    episode_id: Mapped[str | None] = mapped_column(String(36))
    title: Mapped[str] = mapped_column(String(300))
    due_on: Mapped[date] = mapped_column(Date, index=True)
    priority: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    created_by: Mapped[str] = mapped_column(String(128))
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(128))
    close_reason: Mapped[str | None] = mapped_column(String(500))
    #: The exact time it falls due, for work counted in hours (a crisis follow-up within 24 h).
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    #: A crisis follow-up's crisis episode and kind (contact_within_24h / _72h).
    crisis_episode_id: Mapped[str | None] = mapped_column(
        ForeignKey("crisis_episodes.id"), index=True
    )
    follow_up_kind: Mapped[str | None] = mapped_column(String(30))


class ConsentExpiry(Base):
    """When each consent ends, from intake's consent events: a task comes 14 days before."""

    __tablename__ = "consent_expiries"
    consent_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(36), index=True)
    organization_id: Mapped[str] = mapped_column(String(100))
    expires_on: Mapped[date | None] = mapped_column(Date, index=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class CalendarFeed(Base):
    """A case manager's secret calendar URL; only its hash is kept, so a leak of the database
    does not open anyone's calendar. Deleting the row revokes the URL."""

    __tablename__ = "calendar_feeds"
    case_manager_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class FormerCarer(Base):
    """The case manager (and supervisor) of a discharged episode keep read access to its record
    until ``until`` (PLANNING_CONTINUITY_DAYS), for the hand-over and the discharge summary."""

    __tablename__ = "former_carers"
    episode_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    carer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(36), index=True)
    until: Mapped[datetime] = mapped_column()


class EpisodeScores(Base):
    """First and latest PHQ-9 and GAD-7 totals of an episode, from intake's assessment events
    (planning never reads intake's records): the discharge summary's start and end."""

    __tablename__ = "episode_scores"
    episode_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    phq9_start: Mapped[int | None] = mapped_column(Integer)
    phq9_end: Mapped[int | None] = mapped_column(Integer)
    gad7_start: Mapped[int | None] = mapped_column(Integer)
    gad7_end: Mapped[int | None] = mapped_column(Integer)
    #: When the first and the latest assessment of the episode (any scale) were completed.
    first_at: Mapped[datetime | None]
    latest_at: Mapped[datetime | None]
    #: Each scale's own first and latest: an assessment without a PHQ-9 never decides which
    #: PHQ-9 is the start or the end, whatever order the events arrive in.
    phq9_first_at: Mapped[datetime | None]
    phq9_latest_at: Mapped[datetime | None]
    gad7_first_at: Mapped[datetime | None]
    gad7_latest_at: Mapped[datetime | None]


class DischargeSummary(Base):
    """What the episode achieved and what follows, written before or after the discharge."""

    __tablename__ = "discharge_summaries"
    episode_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(36), index=True)
    client_reference: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(500))
    services_received: Mapped[list[str]] = mapped_column(JSON)
    follow_up: Mapped[str | None] = mapped_column(EncryptedText)
    told: Mapped[list[str]] = mapped_column(JSON)
    discharged_at: Mapped[datetime | None]
    written_by: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class SuggestedChange(Base):
    """A change a reassessment suggests to an approved plan (a domain newly rated unmet need
    that no goal covers), kept until the plan's next review takes it up or dismisses it with a
    reason. One per plan, assessment and domain: a repeated event suggests nothing twice."""

    __tablename__ = "suggested_changes"
    __table_args__ = (
        UniqueConstraint(
            "plan_id", "assessment_id", "domain", name="uq_suggested_changes_plan_assessment_domain"
        ),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    assessment_id: Mapped[str] = mapped_column(String(36))
    domain: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20), default="new_unmet_need")
    status: Mapped[str] = mapped_column(String(20), default="open")
    suggested_at: Mapped[datetime] = mapped_column(default=utc_now)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(128))
    dismiss_reason: Mapped[str | None] = mapped_column(String(500))
    #: The draft goal it became when taken up.
    goal_id: Mapped[str | None] = mapped_column(String(36))
