"""Properties of the other derived decisions: automatic assignment and caseload caps, whether a
consent is in force, when a notification may go out and how retries back off."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.intake.domain import (
    CaseloadFull,
    CaseManagerLoad,
    NoCaseManagerAvailable,
    choose_case_manager,
    consent_in_force,
    decide_assignment,
)
from services.notifications.domain import QuietHours, Urgency, release_time, retry_delay
from services.referrals.domain import distance_km

reproducible = settings(max_examples=150, derandomize=True, database=None, deadline=None)

loads = st.builds(
    CaseManagerLoad,
    case_manager_id=st.sampled_from(["cm-1", "cm-2", "cm-3", "cm-4"]),
    cap=st.integers(0, 5),
    active_clients=st.integers(0, 7),
    open_risk_flags=st.integers(0, 3),
)
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)
zones = st.sampled_from(["UTC", "Europe/London", "America/New_York", "Australia/Adelaide"])


@reproducible
@given(team=st.lists(loads, max_size=6, unique_by=lambda load: load.case_manager_id))
def test_automatic_assignment_picks_the_least_loaded_with_room_or_refuses(
    team: list[CaseManagerLoad],
) -> None:
    with_room = [load for load in team if load.active_clients < load.cap]
    if not with_room:
        with pytest.raises(NoCaseManagerAvailable):
            choose_case_manager(team)
        return
    chosen = choose_case_manager(team)
    assert chosen in with_room
    assert all(
        (chosen.active_clients, chosen.open_risk_flags, chosen.case_manager_id)
        <= (other.active_clients, other.open_risk_flags, other.case_manager_id)
        for other in with_room
    )


@reproducible
@given(
    target=loads,
    reason=st.none() | st.text(max_size=5),
    by_supervisor=st.booleans(),
)
def test_only_a_supervisor_with_a_reason_goes_over_a_cap(
    target: CaseManagerLoad, reason: str | None, by_supervisor: bool
) -> None:
    if target.active_clients < target.cap:
        assert decide_assignment(target, override_reason=reason, by_supervisor=by_supervisor) == (
            decide_assignment(target, override_reason=None, by_supervisor=False)
        )
        return
    if by_supervisor and reason and reason.strip():
        decision = decide_assignment(target, override_reason=reason, by_supervisor=True)
        assert decision.over_cap and decision.override_reason == reason.strip()
    else:
        with pytest.raises(CaseloadFull):
            decide_assignment(target, override_reason=reason, by_supervisor=by_supervisor)


@reproducible
@given(
    starts_on=st.dates(date(2025, 1, 1), date(2027, 1, 1)),
    days=st.none() | st.integers(0, 400),
    revoked=st.none() | moments,
    at=moments,
)
def test_a_consent_is_in_force_from_its_start_until_expiry_or_revocation(
    starts_on: date, days: int | None, revoked: datetime | None, at: datetime
) -> None:
    expires_on = None if days is None else starts_on + timedelta(days=days)
    in_force = consent_in_force(
        starts_on=starts_on, expires_on=expires_on, revoked_at=revoked, at=at
    )
    assert in_force == (
        starts_on <= at.date()
        and (expires_on is None or at.date() < expires_on)
        and (revoked is None or at < revoked)
    )


@reproducible
@given(
    urgency=st.sampled_from(list(Urgency)),
    now=moments,
    zone=zones,
    start=st.times(),
    end=st.times(),
    digest=st.none() | st.times(),
)
def test_a_notification_is_never_released_early_nor_held_when_urgent(
    urgency: Urgency, now: datetime, zone: str, start: time, end: time, digest: time | None
) -> None:
    quiet = QuietHours(start, end, zone)
    released = release_time(urgency, now, quiet=quiet, daily_digest_at=digest, zone=zone)
    assert released >= now
    if urgency in (Urgency.URGENT, Urgency.PRIORITY):
        assert released == now
    elif urgency == Urgency.NORMAL or digest is None:
        assert not quiet.contains(released)
        assert released - now <= timedelta(days=1, hours=1)


@reproducible
@given(attempts=st.integers(0, 60))
def test_retries_back_off_but_never_wait_more_than_half_an_hour(attempts: int) -> None:
    assert timedelta(seconds=30) <= retry_delay(attempts) <= timedelta(minutes=30)
    assert retry_delay(attempts) <= retry_delay(attempts + 1)


coordinates = st.tuples(st.floats(-90, 90), st.floats(-180, 180))


@reproducible
@given(a=coordinates, b=coordinates)
def test_distance_is_symmetric_non_negative_and_at_most_half_the_globe(
    a: tuple[float, float], b: tuple[float, float]
) -> None:
    there, back = distance_km(*a, *b), distance_km(*b, *a)
    assert there == pytest.approx(back, abs=1e-6)
    assert 0 <= there <= 20_016
    assert distance_km(*a, *a) == pytest.approx(0, abs=1e-6)
