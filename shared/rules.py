"""Rules more than one service applies, each written once. Plain Python from the standard library
only, so every service's ``domain.py`` may use them and stay framework-free."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

#: The needs-assessment domains (Camberwell Assessment of Need, adapted): intake rates them, the
#: contracts carry them, planning writes goals in them, referrals' services are searched by them.
LIFE_DOMAINS: tuple[str, ...] = (
    "mental_state",
    "physical_health",
    "co_occurring_conditions",
    "substance_use",
    "safety_to_self",
    "safety_to_others",
    "relationships",
    "work_and_education",
    "leisure",
    "daily_living_skills",
    "income",
    "housing",
    "rights_and_advocacy",
)


def consent_in_force(
    *, starts_on: date, expires_on: date | None, revoked_at: datetime | None, at: datetime
) -> bool:
    """Whether sharing is allowed at ``at``: from the start day, until (not on) the expiry day,
    and never from the moment of revocation. Days are read in ``at``'s own time zone (pass the
    moment on the agency's clock)."""
    day = at.date()
    if day < starts_on:
        return False
    if expires_on is not None and day >= expires_on:
        return False
    return revoked_at is None or at < revoked_at


def consent_in_force_on(
    *, starts_on: date, expires_on: date | None, revoked: bool, today: date
) -> bool:
    """The same rule for a day, where only whether the consent was revoked is known (referrals
    hold intake's grants without the moment of revocation)."""
    moment = datetime.combine(today, time.min)
    return consent_in_force(
        starts_on=starts_on,
        expires_on=expires_on,
        revoked_at=moment if revoked else None,
        at=moment,
    )


def retry_backoff(attempts: int, *, cap: timedelta) -> timedelta:
    """Exponential backoff after a failed delivery: 30 s, 1 min, 2 min, 4 min … up to ``cap``."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), cap.total_seconds()))
