"""Referrals' own settings, read from the environment once per process (in ``app.py``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

DEFAULT_RESPONSE_TIME = timedelta(days=3)


@dataclass(frozen=True)
class ReferralsSettings:
    #: How long a partner has to answer a sent referral before ``referral.overdue``.
    response_time: timedelta = DEFAULT_RESPONSE_TIME

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ReferralsSettings:
        env = os.environ if env is None else env
        return cls(response_time=timedelta(days=float(env.get("REFERRALS_RESPONSE_DAYS", "3"))))
