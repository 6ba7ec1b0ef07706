"""Typed constructors of the events intake publishes (contracts in shared/contracts/intake.py);
the others are still written as a type and a dict, and move here one at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.contracts.typed import TypedEvent


@dataclass(frozen=True)
class AssessmentCompleted(TypedEvent):
    TYPE = "casehub.intake.assessment.completed.v1"
    client_id: str
    client_reference: str
    episode_id: str
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
    flag_id: str
    assessment_id: str
    level: str
    reasons: list[str]
    case_manager_id: str | None
    supervisor_id: str | None
    flagged_at: datetime
