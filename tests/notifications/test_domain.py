"""Notification rules as plain functions: recipients, quiet hours, digests, backoff, escalation."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.notifications import domain
from services.notifications.domain import (
    QuietHours,
    RecipientKind,
    escalation_targets,
    next_escalation_at,
    recipient_kind,
    release_time,
    resolve_recipients,
    retry_delay,
)

NIGHT = QuietHours(time(22, 0), time(7, 0), "Europe/London")


@pytest.mark.parametrize(
    ("hour", "quiet"), [(21, False), (22, True), (3, True), (6, True), (7, False), (12, False)]
)
def test_quiet_hours_can_span_midnight(hour: int, quiet: bool) -> None:
    assert NIGHT.contains(datetime(2026, 1, 15, hour, 30, tzinfo=UTC)) is quiet


def test_normal_items_wait_for_the_end_of_quiet_hours_urgent_and_priority_never_wait() -> None:
    late = datetime(2026, 1, 15, 23, 0, tzinfo=UTC)
    assert release_time("normal", late, quiet=NIGHT, daily_digest_at=None) == datetime(
        2026, 1, 16, 7, 0, tzinfo=UTC
    )
    assert release_time("urgent", late, quiet=NIGHT, daily_digest_at=None) == late
    assert release_time("priority", late, quiet=NIGHT, daily_digest_at=None) == late
    assert release_time(
        "normal", late.replace(hour=12), quiet=NIGHT, daily_digest_at=None
    ) == late.replace(hour=12)


def test_low_items_go_to_the_next_digest() -> None:
    morning = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    assert release_time("low", morning, quiet=None, daily_digest_at=time(8)) == morning + timedelta(
        hours=23
    )
    assert release_time(
        "low", morning.replace(hour=7), quiet=None, daily_digest_at=time(8)
    ) == morning.replace(hour=8)


def test_nobody_is_never_the_answer() -> None:
    assert resolve_recipients(
        ["case_manager", "supervisor"], case_manager_id=None, supervisor_id=None
    ) == ["intake_on_call", "on_call"]
    assert resolve_recipients(
        ["case_manager", "supervisor"], case_manager_id="cm", supervisor_id="sup"
    ) == ["cm", "sup"]


def test_escalation_goes_to_the_supervisor_then_reminds_on_call_then_stops() -> None:
    assert escalation_targets(1, supervisor_id="sup") == ["sup"]
    assert escalation_targets(1, supervisor_id=None) == ["on_call"]
    assert escalation_targets(1, supervisor_id="sup", supervisor_has_email=False) == ["on_call"]
    assert escalation_targets(2, supervisor_id="sup") == ["on_call"]
    assert domain.LAST_ESCALATION_LEVEL == 2 + domain.ON_CALL_REMINDERS
    for level in range(3, domain.LAST_ESCALATION_LEVEL + 1):  # on-call reminded
        assert escalation_targets(level, supervisor_id="sup") == ["on_call"]
        assert domain.on_call_reminder(level) == level - 2
    assert escalation_targets(domain.LAST_ESCALATION_LEVEL + 1, supervisor_id="sup") == []
    assert domain.on_call_reminder(1) == domain.on_call_reminder(2) == 0


def test_escalation_waits_again_only_before_the_last_level() -> None:
    now = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    assert next_escalation_at(1, now, 15) == now + timedelta(minutes=15)
    assert next_escalation_at(2, now, 15) == now + timedelta(minutes=15)  # reminders follow
    last = domain.LAST_ESCALATION_LEVEL
    assert next_escalation_at(last - 1, now, 15) == now + timedelta(minutes=15)
    assert next_escalation_at(last, now, 15) is None  # the last reminder to on-call
    assert next_escalation_at(1, now, None) is None


def test_a_zone_stored_before_zones_were_checked_reads_as_utc() -> None:
    """A person's stored zone that no longer loads must not fail the event notifying them."""
    night = datetime(2026, 1, 15, 23, 0, tzinfo=UTC)
    quiet = QuietHours(time(22, 0), time(6, 0), "Mars/Olympus_Mons")
    assert quiet.contains(night) and quiet.ends_after(night) == datetime(
        2026, 1, 16, 6, 0, tzinfo=UTC
    )
    assert release_time(
        "low", night, quiet=None, daily_digest_at=time(8, 0), zone="../../etc/passwd"
    ) == datetime(2026, 1, 16, 8, 0, tzinfo=UTC)


def test_on_call_addresses_are_never_people() -> None:
    assert recipient_kind("on_call") == RecipientKind.ON_CALL
    assert recipient_kind("intake_on_call") == RecipientKind.ON_CALL
    assert recipient_kind("sup-1") == RecipientKind.PERSON


def test_backoff_doubles_and_is_capped() -> None:
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(20) == timedelta(minutes=30)


def test_a_reminder_is_due_at_nine_on_the_agencys_day_before() -> None:
    chicago = ZoneInfo("America/Chicago")
    # 05:30 UTC on 2 December is 23:30 on 1 December in Chicago: reminded on 30 November there.
    early = datetime(2026, 12, 2, 5, 30, tzinfo=UTC)
    assert domain.reminder_due_at(early, chicago) == datetime(2026, 11, 30, 9, 0, tzinfo=chicago)
    assert domain.reminder_due_at(early, ZoneInfo("UTC")) == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    # across the end of daylight saving time the reminder stays at 09:00 local
    after_dst = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    assert domain.reminder_due_at(after_dst, chicago).hour == 9


def test_a_client_recipient_is_its_own_kind() -> None:
    assert domain.recipient_kind("client:c-1") == domain.RecipientKind.CLIENT
    assert domain.recipient_kind("cm-1") == domain.RecipientKind.PERSON
