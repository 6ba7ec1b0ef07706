"""Sending what is due, one delivery per transaction: notifications' emails and webhooks and
referrals' partner webhooks go out this way, so a crash repeats at most the one delivery in
flight and no row stays locked behind a batch of slow HTTP or SMTP calls."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

from shared.unit_of_work import UnitOfWork

#: Claims the next due delivery (SKIP LOCKED), sends it and records the outcome; returns how
#: many deliveries that was (0: nothing is due).
DeliveryStep = Callable[[UnitOfWork, datetime], int]


def deliver_one_at_a_time(
    unit_of_work: Callable[[], AbstractContextManager[UnitOfWork]],
    step: DeliveryStep,
    clock: Callable[[], datetime],
    *,
    limit: int,
) -> int:
    """Run ``step`` in a transaction of its own until nothing is due or ``limit`` is reached.
    The clock is read for every delivery, so one that fell due meanwhile goes out in this run."""
    delivered = 0
    while delivered < limit:
        now = clock()
        with unit_of_work() as uow:
            done = step(uow, now)
        if not done:
            break
        delivered += done
    return delivered
