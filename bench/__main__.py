"""``python -m bench``: every benchmark on real PostgreSQL + RabbitMQ, then ``bench/RESULTS.md``.

python -m bench                      # everything, full sizes (~10 min), rewrites RESULTS.md
python -m bench --only crisis        # one benchmark (repeatable), prints its table
python -m bench --quick              # every size scaled down (~2 min)
python -m bench --only size          # 500,000 clients and 5,000,000 events (loaded by PostgreSQL)
python -m bench --only reporting --reporting-events 1000000 --output /tmp/million.md
CASEHUB_BENCH_DATABASE_URL=postgresql://... CASEHUB_BENCH_BROKER_URL=amqp://... python -m bench
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.api import run_api
from bench.crisis import run_crisis
from bench.environment import machine_facts
from bench.pipeline import run_pipeline, run_scale_out
from bench.planning_scale import run_planning_scale_out
from bench.report import Outcome, render, table, write
from bench.reporting import run_reporting
from bench.retention import run_retention
from bench.scale import run_scale
from bench.web_pages import run_web_pages

RESULTS = Path(__file__).with_name("RESULTS.md")


@dataclass(frozen=True)
class Sizes:
    events: int
    scale_events: int
    alerts: int
    alert_rate: float
    background_rate: float
    clients: int
    seconds: float
    reporting_events: int
    #: Clients (and episodes; ten events each in reporting) of the half-million-client bench.
    scale_clients: int
    scale_requests: int
    #: Whether a rate baseline far below its usual rate (``bench.usual``) is measured again and,
    #: if it stays low, reported as not a result: only full-size runs reach the usual rates.
    judge_baselines: bool = False
    #: Events a simulated day in the outbox and inbox retention run.
    retention_per_day: int = 20_000


FULL = Sizes(20_000, 8_000, 500, 10, 20, 50_000, 8, 20_000, 500_000, 300, judge_baselines=True)
QUICK = Sizes(2_000, 1_500, 40, 20, 10, 2_000, 2, 2_000, 20_000, 100, retention_per_day=2_000)
TINY = Sizes(300, 300, 5, 10, 5, 200, 1, 300, 1_000, 20, retention_per_day=200)

BENCHMARKS: dict[str, Callable[[Sizes, bool], list[Outcome]]] = {
    "pipeline": lambda s, profile: run_pipeline(
        s.events, profile, judge_baselines=s.judge_baselines
    ),
    "crisis": lambda s, profile: [run_crisis(s.alerts, s.background_rate, s.alert_rate, profile)],
    "api": lambda s, profile: run_api(
        s.clients, s.seconds, profile, judge_baselines=s.judge_baselines
    ),
    "scale": lambda s, _profile: [
        run_scale_out(s.scale_events),
        run_planning_scale_out(s.scale_events),
    ],
    "reporting": lambda s, _profile: run_reporting(s.reporting_events),
    "web": lambda s, profile: [run_web_pages(max(10, s.alerts // 5), profile)],
    "size": lambda s, _profile: run_scale(s.scale_clients, s.scale_requests),
    "retention": lambda s, _profile: [run_retention(s.retention_per_day)],
}


def merge(outcomes: list[Outcome]) -> list[Outcome]:
    """One section per benchmark (memory figures come from several of them)."""
    merged: dict[str, Outcome] = {}
    for outcome in outcomes:
        into = merged.setdefault(outcome.benchmark, Outcome(outcome.benchmark))
        into.figures += outcome.figures
        into.notes += outcome.notes
        into.profiles.update(outcome.profiles)
    order = [
        "event pipeline",
        "crisis-alert latency",
        "API throughput",
        "web pages",
        "scale-out",
        "large data",
        "table retention",
        "memory",
        "reporting",
    ]
    return sorted(merged.values(), key=lambda o: order.index(o.benchmark))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only",
        action="append",
        choices=[*BENCHMARKS, "memory"],
        help="run this benchmark only (repeatable); memory comes with pipeline and api",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="every size scaled down")
    size.add_argument("--tiny", action="store_true", help="smallest sizes (the smoke test)")
    parser.add_argument("--no-profile", action="store_true", help="skip py-spy sampling")
    parser.add_argument(
        "--reporting-events",
        type=int,
        help="events in the reporting rebuild's archive (e.g. 1000000; the live projection is "
        "then not measured again)",
    )
    parser.add_argument(
        "--reporting-archive",
        choices=["both", "stream", "folder"],
        default="both",
        help="which archive the reporting rebuild reads",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="write the results here (default: bench/RESULTS.md on a full run of everything)",
    )
    args = parser.parse_args(argv)
    # SIGTERM (e.g. from ``timeout``) unwinds like Ctrl-C, so every run still drops its
    # databases, queues and exchange and stops its service processes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sizes = TINY if args.tiny else QUICK if args.quick else FULL
    if args.reporting_events is not None or args.reporting_archive != "both":
        count = args.reporting_events or sizes.reporting_events
        BENCHMARKS["reporting"] = lambda s, _profile: run_reporting(
            count,
            stream=args.reporting_archive in ("both", "stream"),
            folder=args.reporting_archive in ("both", "folder"),
            projection=args.reporting_events is None,
        )
    chosen = list(dict.fromkeys(args.only or BENCHMARKS))
    if "memory" in chosen:
        chosen.remove("memory")
        chosen += [name for name in ("pipeline", "api") if name not in chosen]
    started = time.monotonic()
    facts = machine_facts()
    outcomes: list[Outcome] = []
    for name in chosen:
        began = time.monotonic()
        print(f"== {name}", file=sys.stderr, flush=True)
        load_before = os.getloadavg()[0]
        found = BENCHMARKS[name](sizes, not args.no_profile)
        took_here = time.monotonic() - began
        found[0].notes.append(
            f"Took {took_here:.0f} s; load average {load_before:.1f} before, "
            f"{os.getloadavg()[0]:.1f} after (other work on the machine shows here)."
        )
        outcomes += found
        print(f"   {name}: {took_here:.0f} s", file=sys.stderr, flush=True)
    outcomes = merge(outcomes)
    took = time.monotonic() - started
    print(table(outcomes))
    output = args.output
    if output is None and not args.only and sizes is FULL:
        output = RESULTS
    if output is not None:
        command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
        write(output, render(outcomes, facts, command.strip(), took))
        print(f"wrote {output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
