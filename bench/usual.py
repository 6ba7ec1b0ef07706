"""What each rate baseline usually reaches on a quiet machine of the reference kind (2 cores, AMD
EPYC, PostgreSQL and RabbitMQ on the same machine): the medians of the quiet runs in RESULTS.md.

A baseline far below its usual rate (``bench.report.FAR_BELOW``) means something else had the
machine while it ran, so the ratio against it is not a result: the benchmark measures the pair
again, and if the baseline stays low its row says "not a result". On another machine, give the
rates a quiet run there reaches: ``CASEHUB_BENCH_USUAL_RATES='{"bare POST /clients": 2400}'``
(names as below; a rate of 0 turns the check off for that baseline)."""

from __future__ import annotations

import json
import os

#: Baseline name -> its usual rate (requests or events a second).
REFERENCE: dict[str, float] = {
    # bare Flask + SQLAlchemy under gunicorn, after the same warm-up as ours (2026-11-30 evening:
    # 1,585 to 1,776 and 1,342 to 1,496 req/s)
    "bare POST /clients": 1_600,
    "bare GET caseload": 1_400,
    # kombu publishing with a confirm per message + an ack consumer (quiet runs 651 to 1,211/s)
    "kombu confirm each": 1_000,
    # kombu publishing with pipelined confirms + an ack consumer (quiet runs 4,880/s)
    "kombu pipelined confirms": 4_500,
}


def usual_rate(name: str) -> float | None:
    """The usual rate of the baseline ``name``, None when it is not judged."""
    override = json.loads(os.environ.get("CASEHUB_BENCH_USUAL_RATES") or "{}")
    rate = float(override.get(name, REFERENCE.get(name, 0)))
    return rate or None
