"""Intake's own settings, read from the environment once per process."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

#: How long after an assessment the client is assessed again (PHQ-9, GAD-7, needs).
REASSESSMENT_DAYS = 90
#: Sooner after a high risk: the crisis picture changes fast.
REASSESSMENT_AFTER_HIGH_RISK_DAYS = 30


@dataclass(frozen=True)
class ReassessmentPolicy:
    interval_days: int = REASSESSMENT_DAYS
    after_high_risk_days: int = REASSESSMENT_AFTER_HIGH_RISK_DAYS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ReassessmentPolicy:
        env = os.environ if env is None else env
        return cls(
            interval_days=int(env.get("INTAKE_REASSESSMENT_DAYS", REASSESSMENT_DAYS)),
            after_high_risk_days=int(
                env.get("INTAKE_REASSESSMENT_HIGH_RISK_DAYS", REASSESSMENT_AFTER_HIGH_RISK_DAYS)
            ),
        )


@cache
def reassessment_policy() -> ReassessmentPolicy:
    """Built once per process (the API's views and the worker's scheduler share it)."""
    return ReassessmentPolicy.from_env()
