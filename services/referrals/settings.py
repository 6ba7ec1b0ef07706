"""Referrals' own settings, read from the environment once per process (in ``app.py``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

DEFAULT_RESPONSE_TIME = timedelta(days=3)
DEFAULT_AGENCY_NAME = "The referring agency (Casehub)"


def _identifier_base(raw: str | None) -> str | None:
    """An absolute http(s) or urn URI, without a trailing slash; a typo fails at start."""
    if not raw:
        return None
    value = raw.strip().rstrip("/")
    if not value.startswith(("https://", "http://", "urn:")) or " " in value:
        raise ValueError(
            f"REFERRALS_FHIR_IDENTIFIER_BASE must be an absolute URI (https://… or urn:…), "
            f"got {raw!r}"
        )
    return value


@dataclass(frozen=True)
class ReferralsSettings:
    #: How long a partner has to answer a sent referral before ``referral.overdue``.
    response_time: timedelta = DEFAULT_RESPONSE_TIME
    #: The agency's URI under which its client references and referral ids are FHIR identifier
    #: systems; unset, the FHIR base URL partners call (pin it before partners store them).
    fhir_identifier_base: str | None = None
    #: Who partners see as the requester of a referral.
    agency_name: str = DEFAULT_AGENCY_NAME

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ReferralsSettings:
        env = os.environ if env is None else env
        return cls(
            response_time=timedelta(days=float(env.get("REFERRALS_RESPONSE_DAYS", "3"))),
            fhir_identifier_base=_identifier_base(env.get("REFERRALS_FHIR_IDENTIFIER_BASE")),
            agency_name=(env.get("CASEHUB_AGENCY_NAME") or "").strip() or DEFAULT_AGENCY_NAME,
        )
