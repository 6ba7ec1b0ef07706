"""Planning's own settings, read from the environment once per process (in ``app.py``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from services.planning import casework_domain, domain


@dataclass(frozen=True)
class ReviewPolicy:
    """How often plans are reviewed, and how soon after a crisis (environment-configurable)."""

    interval_days: int = domain.DEFAULT_REVIEW_INTERVAL_DAYS
    crisis_days: int = domain.CRISIS_REVIEW_DAYS
    #: How long a former case manager still reads a discharged client's record.
    continuity_days: int = casework_domain.CONTINUITY_DAYS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ReviewPolicy:
        env = os.environ if env is None else env
        return cls(
            interval_days=int(
                env.get("PLANNING_REVIEW_INTERVAL_DAYS", domain.DEFAULT_REVIEW_INTERVAL_DAYS)
            ),
            crisis_days=int(env.get("PLANNING_CRISIS_REVIEW_DAYS", domain.CRISIS_REVIEW_DAYS)),
            continuity_days=int(
                env.get("PLANNING_CONTINUITY_DAYS", casework_domain.CONTINUITY_DAYS)
            ),
        )
