"""Referral rules as plain Python: the FHIR Task lifecycle with who may make each move, reason
codes, what a partner may see of the client, and distance for the directory search."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from shared import rules


class ReferralStatus(StrEnum):
    DRAFT = "draft"
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IN_PROGRESS = "in-progress"
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ENTERED_IN_ERROR = "entered-in-error"


class Side(StrEnum):
    REFERRER = "referrer"  # the referring case manager (or the platform acting for them)
    PARTNER = "partner"  # the organisation the referral is addressed to


S = ReferralStatus
R, P = frozenset({Side.REFERRER}), frozenset({Side.PARTNER})
#: Either side: the SDOH Clinical Care IG's status table lets the requester *or* the performer
#: cancel a Task once it was accepted (its diagram draws accepted, in-progress, on-hold ->
#: cancelled); before that the performer rejects instead.
EITHER = R | P
#: from -> {to: the sides allowed to make the move}; entered-in-error is added for every status.
TRANSITIONS: Mapping[ReferralStatus, Mapping[ReferralStatus, frozenset[Side]]] = MappingProxyType(
    {
        S.DRAFT: {S.REQUESTED: R, S.CANCELLED: R},
        S.REQUESTED: {S.ACCEPTED: P, S.REJECTED: P, S.CANCELLED: R},
        S.ACCEPTED: {
            S.IN_PROGRESS: P,
            S.ON_HOLD: P,
            S.COMPLETED: P,
            S.FAILED: P,
            S.CANCELLED: EITHER,
        },
        S.IN_PROGRESS: {S.ON_HOLD: P, S.COMPLETED: P, S.FAILED: P, S.CANCELLED: EITHER},
        S.ON_HOLD: {S.IN_PROGRESS: P, S.COMPLETED: P, S.FAILED: P, S.CANCELLED: EITHER},
        S.REJECTED: {},
        S.COMPLETED: {},
        S.FAILED: {},
        S.CANCELLED: {},
        S.ENTERED_IN_ERROR: {},
    }
)
#: Moves with a use case of their own that checks more than this table: ``requested`` is
#: sending, the moment the partner first sees the referral, and needs the client's consent in
#: force and room in the service. A generic move to one of them is refused, naming the way.
OWN_ENDPOINTS: Mapping[ReferralStatus, str] = MappingProxyType(
    {S.REQUESTED: "POST /referrals/{referral_id}/send"}
)
OPEN = frozenset({S.DRAFT, S.REQUESTED, S.ACCEPTED, S.IN_PROGRESS, S.ON_HOLD})
NEEDS_REASON = frozenset({S.REJECTED, S.FAILED, S.CANCELLED, S.ON_HOLD, S.ENTERED_IN_ERROR})
REASON_CODES = (
    "no_capacity",
    "not_eligible",
    "could_not_contact",
    "client_declined",
    "client_moved",
    "consent_revoked",
    "client_discharged",
    "duplicate",
    "service_closed",
    "other",
)


class TransitionRefused(Exception):
    """An illegal move (409 naming the allowed ones), one the caller's side may not make (403),
    or an allowed move missing what it needs (``field``: 422 naming it)."""

    def __init__(
        self,
        message: str,
        *,
        allowed: list[str],
        forbidden: bool = False,
        current: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.allowed, self.forbidden, self.current = allowed, forbidden, current
        self.field = field


def allowed_moves(current: ReferralStatus | str, side: Side | str | None = None) -> list[str]:
    """The moves from ``current`` (those of ``side`` alone when given)."""
    moves = dict(TRANSITIONS[ReferralStatus(current)])
    if ReferralStatus(current) != S.ENTERED_IN_ERROR:
        moves[S.ENTERED_IN_ERROR] = R
    return sorted(str(to) for to, who in moves.items() if side is None or Side(side) in who)


def check_move(
    current: ReferralStatus | str,
    requested: ReferralStatus | str,
    side: Side | str,
    reason_code: str | None,
) -> ReferralStatus:
    """The refusal names only the caller's own moves (``allowed``), as ``allowed_moves`` does:
    the other side's moves are nothing the caller can make."""
    current, requested, side = ReferralStatus(current), ReferralStatus(requested), Side(side)
    everyone = allowed_moves(current)
    mine = allowed_moves(current, side)
    if str(requested) not in everyone:
        raise TransitionRefused(
            f"A {current} referral cannot become {requested}; you may make it: "
            f"{', '.join(mine) or 'nothing more'}",
            allowed=mine,
            current=str(current),
        )
    if str(requested) not in mine:
        raise TransitionRefused(
            f"Only the {'partner' if side == Side.REFERRER else 'referrer'} may make a {current} "
            f"referral {requested}",
            allowed=mine,
            forbidden=True,
            current=str(current),
        )
    if requested in NEEDS_REASON and not reason_code:
        raise TransitionRefused(
            f"moving to {requested} needs one of {', '.join(REASON_CODES)}",
            allowed=mine,
            current=str(current),
            field="reason_code",
        )
    return requested


@dataclass(frozen=True)
class ReferralMove:
    """A move the rules allow, decided before anything is written: whether it sends the referral
    (the consent and capacity gate, ``sent_at``) and which fact besides the status change it
    announces (``sent``, ``completed``, ``cancelled``, ``rejected``, ``failed`` or none)."""

    from_status: ReferralStatus
    to: ReferralStatus
    sends: bool
    announces: str | None


_ANNOUNCED: Mapping[ReferralStatus, str] = MappingProxyType(
    {
        S.REQUESTED: "sent",
        S.COMPLETED: "completed",
        S.CANCELLED: "cancelled",
        S.REJECTED: "rejected",
        S.FAILED: "failed",
    }
)


def decide_move(
    current: ReferralStatus | str,
    requested: ReferralStatus | str,
    side: Side | str,
    reason_code: str | None,
) -> ReferralMove:
    """Raises ``TransitionRefused`` for a move the status machine or the side does not allow."""
    to = check_move(current, requested, side, reason_code)
    return ReferralMove(
        from_status=ReferralStatus(current),
        to=to,
        sends=to is S.REQUESTED,
        announces=_ANNOUNCED.get(to),
    )


def consented_packet(packet: Mapping[str, Any], categories: Iterable[str]) -> dict[str, Any]:
    """Only the data categories the client consented to share with this organisation."""
    allowed = set(categories)
    return {category: value for category, value in packet.items() if category in allowed}


def consent_in_force(starts_on: date, expires_on: date | None, revoked: bool, today: date) -> bool:
    return rules.consent_in_force_on(
        starts_on=starts_on, expires_on=expires_on, revoked=revoked, today=today
    )


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance for "services near the client"."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = math.radians(lat2 - lat1), math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


WEBHOOK_BACKOFF_CAP = timedelta(hours=1)


def webhook_backoff(attempts: int) -> timedelta:
    return rules.retry_backoff(attempts, cap=WEBHOOK_BACKOFF_CAP)


def webhook_backoff_seconds(attempts: int) -> int:
    return int(webhook_backoff(attempts).total_seconds())


def _backoff_schedule() -> tuple[timedelta, ...]:
    """30 s, 1 min, 2 min … until the first wait at the cap (1 h), which is the last."""
    waits: list[timedelta] = []
    while not waits or waits[-1] < WEBHOOK_BACKOFF_CAP:
        waits.append(webhook_backoff(len(waits) + 1))
    return tuple(waits)


#: The documented schedule: a subscription is disabled only once an endpoint kept failing through
#: all of it, never for a short outage that happened to meet many events.
WEBHOOK_BACKOFF_SCHEDULE = _backoff_schedule()
#: Failed attempts in a row (whatever the event) and time failing before a subscription is
#: disabled: one attempt per wait of the schedule and one after it, spread over its whole length.
DISABLE_AFTER_ATTEMPTS = len(WEBHOOK_BACKOFF_SCHEDULE) + 1
DISABLE_AFTER_FAILING_FOR = sum(WEBHOOK_BACKOFF_SCHEDULE, timedelta())


def should_disable(consecutive_failures: int, failing_since: datetime, now: datetime) -> bool:
    """Consecutive failed attempts over time: enough of them, and for the whole schedule."""
    return (
        consecutive_failures >= DISABLE_AFTER_ATTEMPTS
        and now - failing_since >= DISABLE_AFTER_FAILING_FOR
    )
