"""Competing planning workers (issue 14, item 2): 1 then 2 planning worker processes drain a queue
holding, per new episode, a high ``risk.flagged`` and its ``assessment.completed`` side by side —
the pair two workers take at the same moment, both creating the episode's plan. Before the
insert-or-get, the second failed on ``uq_plans_episode_id`` and waited for its 1 s retry, so two
workers drained slower than one. Measured like referrals' scale-out, in the same run."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg

from bench.environment import Stack, wait_until
from bench.pipeline import PER_TRANSACTION, _conninfo, _pending, _queue_consumers, handled
from bench.report import Outcome
from services.catalog import runtime_for
from shared.service import ServiceRuntime

FLAGGED = "casehub.intake.risk.flagged.v1"
ASSESSED = "casehub.intake.assessment.completed.v1"


def _episode_events(pairs: int) -> list[tuple[str, str, dict[str, Any]]]:
    """Per episode, the flag then the assessment: adjacent in the queue, one subject."""
    now = datetime.now(UTC)
    events = []
    for _ in range(pairs):
        ids = {
            "client_id": str(uuid.uuid4()),
            "client_reference": "C-1001",
            "episode_id": str(uuid.uuid4()),
        }
        assessment_id = str(uuid.uuid4())
        subject = f"client/{ids['client_id']}"
        flag = {
            **ids,
            "flag_id": str(uuid.uuid4()),
            "assessment_id": assessment_id,
            "level": "high",
            "reasons": ["C-SSRS Q4"],
            "flagged_at": now,
        }
        assessment = {
            **ids,
            "assessment_id": assessment_id,
            "version": 1,
            "completed_at": now,
            "unmet_needs": ["housing", "income"],
            "risk_level": "high",
        }
        events += [(FLAGGED, subject, flag), (ASSESSED, subject, assessment)]
    return events


def _write(runtime: ServiceRuntime, events: list[tuple[str, str, dict[str, Any]]]) -> None:
    for first in range(0, len(events), PER_TRANSACTION):
        with runtime.unit_of_work() as uow:
            for event_type, subject, data in events[first : first + PER_TRANSACTION]:
                uow.publish(event_type, subject=subject, data=data)


def _middle_rate(stack: Stack, since: float) -> float:
    """Handling rate between the 10th and 90th percentile, so start-up is left out."""
    with psycopg.connect(_conninfo(stack.databases["planning"])) as connection:
        times = [
            row[0].timestamp()
            for row in connection.execute(
                "SELECT received_at FROM inbox WHERE received_at >= to_timestamp(%s) "
                "ORDER BY received_at",
                (since,),
            )
        ]
    low, high = times[len(times) // 10], times[(len(times) * 9) // 10]
    return (len(times) * 0.8) / max(high - low, 1e-6)


def _plans(stack: Stack) -> tuple[int, int]:
    """Plans, and episodes with more than one (must be 0)."""
    with psycopg.connect(_conninfo(stack.databases["planning"])) as connection:
        plans = connection.execute("SELECT count(*) FROM plans").fetchone()
        doubled = connection.execute(
            "SELECT count(*) FROM (SELECT episode_id FROM plans GROUP BY episode_id "
            "HAVING count(*) > 1) AS d"
        ).fetchone()
    return int(plans[0]) if plans else 0, int(doubled[0]) if doubled else 0


def run_planning_scale_out(count: int, worker_counts: tuple[int, ...] = (1, 2)) -> Outcome:
    """``count`` events (half flags, half assessments of as many new episodes) per step."""
    outcome = Outcome("scale-out")
    rates: dict[int, float] = {}
    with Stack(("intake", "planning")) as stack:
        stack.migrate("intake", "planning")
        relay = stack.start_worker("intake")
        runtime = runtime_for("intake", stack.settings("intake"))
        for workers in worker_counts:
            before = handled(stack, "planning")
            events = _episode_events(count // 2)
            _write(runtime, events)
            wait_until(lambda: _pending(stack) == 0, timeout=300)
            started = time.time()
            processes = [stack.start_worker("planning") for _ in range(workers)]
            wait_until(lambda n=workers: _queue_consumers(stack, "planning") >= n, timeout=60)
            total = before + len(events)
            wait_until(lambda t=total: handled(stack, "planning") >= t, timeout=600, every=0.05)
            rates[workers] = _middle_rate(stack, since=started)
            for process in processes:
                stack.stop(process)
        plans, doubled = _plans(stack)
        stack.stop(relay)
    for workers, rate in rates.items():
        outcome.add(
            f"{workers} planning worker process{'es' if workers > 1 else ''} (flag + assessment "
            "per new episode)",
            rate,
            "events/s",
            baseline=rates[worker_counts[0]] if workers != worker_counts[0] else None,
            baseline_name="1 process",
            target="≥ 1.6x from 1 to 2, like referrals'" if workers == 2 else "",
            check=(lambda f: (f.ratio or 0) >= 1.6) if workers == 2 else None,
        )
    outcome.notes.append(
        f"Planning: {count:,} events per step, a high risk.flagged and the assessment.completed "
        "of each new episode side by side in the queue, so competing workers handle the pair at "
        f"once and both create the plan: insert-or-get on the episode. {plans:,} plans, "
        f"{doubled} episodes with two. Same caveat as referrals': on 2 shared cores a second "
        "worker adds throughput only while a core is idle, so read the ratio against referrals' "
        "from the same run, not against 2.0."
    )
    return outcome
