"""The agency's calendar. Clinical rules that speak in days — consent in force until its expiry
day, a review due on a date, "today's" expired consents — use the agency's local date
(``CASEHUB_TIMEZONE``, an IANA name such as ``America/Chicago``; UTC by default), the same in
every service and whatever the server's own zone is."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TIMEZONE_VARIABLE = "CASEHUB_TIMEZONE"


#: The days any record may name: no agency's records lie outside them, and every day's
#: midnights, in any zone, and the day after are datetimes (Python's calendar ends at year 1 and
#: 9999). Request fields hold to it (``shared.web.fields``).
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)


@functools.lru_cache(maxsize=256)
def zone_or_none(name: str) -> ZoneInfo | None:
    """The IANA zone of that name, or None when there is none (a typo, a path, an empty name):
    for checking a person's zone when it is given, and reading one stored earlier safely."""
    try:
        return ZoneInfo(name) if name and name == name.strip() else None
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


@functools.lru_cache(maxsize=8)
def agency_zone_named(name: str) -> ZoneInfo:
    name = name.strip() or "UTC"
    zone = zone_or_none(name)
    if zone is None:
        raise ValueError(
            f"{TIMEZONE_VARIABLE}={name!r} is not an IANA time zone (e.g. Europe/London)"
        )
    return zone


def agency_zone() -> ZoneInfo:
    return agency_zone_named(os.environ.get(TIMEZONE_VARIABLE, "UTC"))


def agency_today(now: datetime | None = None) -> date:
    """The agency's date at ``now`` (default: this moment)."""
    return agency_date(now or datetime.now(UTC))


def in_agency_zone(moment: datetime) -> datetime:
    """The same instant on the agency's clock, so its ``.date()`` is the agency's day."""
    return moment.astimezone(agency_zone())


def agency_date(moment: datetime) -> date:
    """The agency's day at an instant (a review dated from an approval at 23:30 in Chicago is
    dated from that Chicago day, not from the UTC day that has already begun)."""
    return moment.astimezone(agency_zone()).date()


@dataclass(frozen=True)
class Clock:
    """The one source of "now" and "today" a process hands to its use cases (built once in each
    service's ``app.py``; tests pass a fixed one instead of patching time)."""

    fixed: datetime | None = None

    def now(self) -> datetime:
        return self.fixed if self.fixed is not None else datetime.now(UTC)

    def today(self) -> date:
        """The agency's date now."""
        return agency_date(self.now())


SYSTEM_CLOCK = Clock()
