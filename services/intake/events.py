"""Typed constructors of the events intake publishes (contracts in shared/contracts/intake.py);
each carries exactly the fields its contract names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from shared.contracts.typed import TypedEvent


@dataclass(frozen=True)
class AssessmentCompleted(TypedEvent):
    TYPE = "casehub.intake.assessment.completed.v1"
    client_id: str
    client_reference: str
    episode_id: str
    #: The episode's programme (optional in the contract: events before it was added lack it).
    programme: str | None
    assessment_id: str
    version: int
    supersedes_assessment_id: str | None
    completed_at: datetime
    unmet_needs: list[str]
    phq9: dict[str, Any] | None
    gad7: dict[str, Any] | None
    cssrs_level: str | None
    risk_level: str
    case_manager_id: str | None


@dataclass(frozen=True)
class RiskFlagged(TypedEvent):
    TYPE = "casehub.intake.risk.flagged.v1"
    client_id: str
    client_reference: str
    episode_id: str
    #: The episode's programme (optional in the contract: events before it was added lack it).
    programme: str | None
    flag_id: str
    assessment_id: str
    level: str
    reasons: list[str]
    case_manager_id: str | None
    supervisor_id: str | None
    flagged_at: datetime


@dataclass(frozen=True)
class ClientEvent(TypedEvent):
    """The identifiers every event about a client's episode carries."""

    client_id: str
    client_reference: str
    episode_id: str
    #: The episode's programme (optional in the contract: events before it was added lack it).
    programme: str | None


@dataclass(frozen=True)
class ClientRegistered(ClientEvent):
    TYPE = "casehub.intake.client.registered.v1"
    registered_by: str
    registered_at: datetime


@dataclass(frozen=True)
class ClientUpdated(ClientEvent):
    TYPE = "casehub.intake.client.updated.v1"
    changed_fields: list[str]
    updated_at: datetime


@dataclass(frozen=True)
class ClientDischarged(ClientEvent):
    TYPE = "casehub.intake.client.discharged.v1"
    discharged_at: datetime
    reason_code: str
    care_version: int


@dataclass(frozen=True)
class ClientReadmitted(ClientEvent):
    TYPE = "casehub.intake.client.readmitted.v1"
    previous_episode_id: str
    readmitted_at: datetime


@dataclass(frozen=True)
class RiskResolved(ClientEvent):
    TYPE = "casehub.intake.risk.resolved.v1"
    flag_id: str
    level: str
    resolved_by: str
    resolved_at: datetime


@dataclass(frozen=True)
class CaseAssigned(ClientEvent):
    TYPE = "casehub.intake.case.assigned.v1"
    case_manager_id: str
    previous_case_manager_id: str | None
    supervisor_id: str | None
    assigned_by: str
    method: str
    over_cap: bool
    assigned_at: datetime
    care_version: int
    case_manager_version: int


@dataclass(frozen=True)
class ConsentGranted(TypedEvent):
    TYPE = "casehub.intake.consent.granted.v1"
    consent_id: str
    client_id: str
    organization_id: str
    categories: list[str]
    starts_on: date
    expires_on: date | None


@dataclass(frozen=True)
class ConsentRevoked(TypedEvent):
    TYPE = "casehub.intake.consent.revoked.v1"
    consent_id: str
    client_id: str
    organization_id: str
    categories: list[str]
    revoked_at: datetime
    reason: str


@dataclass(frozen=True)
class CaseManagerUpdated(TypedEvent):
    TYPE = "casehub.intake.case_manager.updated.v1"
    case_manager_id: str
    team: str | None
    supervisor_id: str | None
    caseload_cap: int
    active: bool
    version: int
    updated_at: datetime

    @property
    def subject(self) -> str:
        return f"case_manager/{self.case_manager_id}"


@dataclass(frozen=True)
class EmergencyAccessGranted(ClientEvent):
    TYPE = "casehub.intake.access.emergency_granted.v1"
    grant_id: str
    granted_to: str
    roles: list[str]
    granted_at: datetime
    expires_at: datetime
    case_manager_id: str | None
    supervisor_id: str | None


@dataclass(frozen=True)
class ClientRetentionExpired(TypedEvent):
    TYPE = "casehub.intake.client.retention_expired.v1"
    client_id: str
    client_reference: str
    expired_at: datetime


@dataclass(frozen=True)
class ReassessmentDue(TypedEvent):
    TYPE = "casehub.intake.reassessment.due.v1"
    client_id: str
    client_reference: str
    episode_id: str
    #: The episode's programme (optional in the contract: events before it was added lack it).
    programme: str | None
    due_on: date
    reason: str
    last_assessment_id: str
    case_manager_id: str | None


@dataclass(frozen=True)
class ReferralRequestDecided(TypedEvent):
    TYPE = "casehub.intake.referral_request.decided.v1"
    request_id: str
    organization_id: str
    outcome: str
    reason: str | None
    decided_at: datetime

    @property
    def subject(self) -> str:
        return f"inbound-referral/{self.request_id}"


@dataclass(frozen=True)
class ReminderConsentChanged(TypedEvent):
    TYPE = "casehub.intake.reminder_consent.changed.v1"
    client_id: str
    consented: bool
    channel: str | None
    address: str | None
    version: int
    changed_at: datetime
