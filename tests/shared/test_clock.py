"""The agency's calendar: days in clinical rules are the agency's, whatever the server's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.clock import agency_today, in_agency_zone
from shared.config import Settings

NOON_UTC_NOV_30 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        (None, date(2026, 11, 30)),
        ("UTC", date(2026, 11, 30)),
        ("Pacific/Kiritimati", date(2026, 12, 1)),  # UTC+14
        ("Pacific/Pago_Pago", date(2026, 11, 30)),  # UTC-11: still 01:00 on the 30th
        ("America/Los_Angeles", date(2026, 11, 30)),
    ],
)
def test_today_is_the_agency_s_date(
    monkeypatch: pytest.MonkeyPatch, zone: str | None, day: date
) -> None:
    if zone is None:
        monkeypatch.delenv("CASEHUB_TIMEZONE", raising=False)
    else:
        monkeypatch.setenv("CASEHUB_TIMEZONE", zone)
    assert agency_today(NOON_UTC_NOV_30) == day
    assert in_agency_zone(NOON_UTC_NOV_30).date() == day
    assert in_agency_zone(NOON_UTC_NOV_30) == NOON_UTC_NOV_30  # the same instant


def test_a_misspelt_zone_stops_the_service_at_start() -> None:
    with pytest.raises(ValueError, match="not an IANA time zone"):
        Settings.from_env("intake", {"CASEHUB_TIMEZONE": "Europe/Londn"})
