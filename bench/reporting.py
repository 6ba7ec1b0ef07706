"""Reporting's projection and rebuild on real PostgreSQL: events/s through the service's own
handler (archive + projection, 50 events a transaction as a consumer batch), against the same
loop doing everything but the database (decode, envelope, dispatch), and the rebuild of the
whole archive, extrapolated to 1,000,000 events."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import make_url

from bench.environment import DATABASE_URL, _admin_conninfo
from bench.report import Outcome
from services.catalog import load_spec, platform_topology
from services.reporting.operations.projection import PROJECTORS
from services.reporting.operations.rebuild import rebuild
from shared.config import Settings
from shared.contracts import REGISTRY, Event
from shared.service import ServiceRuntime

BATCH = 50
MILLION = 1_000_000


def _event(routing_key: str, data: dict[str, Any], at: datetime) -> Event:
    event_type = f"casehub.{routing_key}"
    return Event(
        type=event_type,
        source="/" + routing_key.split(".")[0],
        subject=f"client/{data.get('client_id', 'x')}",
        data=REGISTRY.validate(event_type, data),
        time=at,
    )


def synthetic_events(count: int, seed: int = 1) -> list[Event]:
    """Episodes of care, each a registration, an assignment, two assessments, a review due and
    held, a referral sent and accepted, and a discharge: ten events an episode."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    events: list[Event] = []
    for n in range(count // 10 + 1):
        client = {
            "client_id": str(uuid.uuid4()),
            "client_reference": f"C-{n}",
            "episode_id": str(uuid.uuid4()),
            "programme": rng.choice(["act-team", "housing-first", "intensive-case-management"]),
        }
        at = start + timedelta(hours=n)
        plan = {k: client[k] for k in ("client_id", "episode_id")} | {"plan_id": str(uuid.uuid4())}
        review_id = str(uuid.uuid4())
        referral = {
            "referral_id": str(uuid.uuid4()),
            "client_id": client["client_id"],
            "client_reference": client["client_reference"],
            "organization_id": f"partner-{rng.randint(1, 20)}",
            "status": "requested",
        }

        def assessment(total: int, when: datetime, client: dict[str, Any] = client) -> Event:
            return _event(
                "intake.assessment.completed.v1",
                {
                    **client,
                    "assessment_id": str(uuid.uuid4()),
                    "version": 1,
                    "completed_at": when,
                    "unmet_needs": [],
                    "phq9": {"total": total, "severity": "mild"},
                    "gad7": {"total": min(total, 21), "severity": "mild"},
                    "risk_level": "none",
                },
                when,
            )

        events += [
            _event(
                "intake.client.registered.v1",
                {**client, "registered_by": "iw", "registered_at": at},
                at,
            ),
            _event(
                "intake.case.assigned.v1",
                {
                    **client,
                    "case_manager_id": f"cm-{rng.randint(1, 40)}",
                    "assigned_by": "iw",
                    "method": "automatic",
                    "over_cap": False,
                    "assigned_at": at + timedelta(days=2),
                },
                at + timedelta(days=2),
            ),
            assessment(rng.randint(5, 27), at + timedelta(days=3)),
            assessment(rng.randint(0, 20), at + timedelta(days=60)),
            _event(
                "planning.review.due.v1",
                {**plan, "review_id": review_id, "due_on": (at + timedelta(days=90)).date()},
                at + timedelta(days=90),
            ),
            _event(
                "planning.plan.reviewed.v1",
                {
                    **plan,
                    "review_id": review_id,
                    "version": 2,
                    "reviewed_at": at + timedelta(days=91),
                },
                at + timedelta(days=91),
            ),
            _event(
                "planning.plan.approved.v1",
                {
                    **plan,
                    "version": 1,
                    "approved_at": at + timedelta(days=20),
                    "next_review_due": (at + timedelta(days=110)).date(),
                },
                at + timedelta(days=20),
            ),
            _event("referrals.referral.sent.v1", {**referral, "at": at + timedelta(days=21)}, at),
            _event(
                "referrals.referral.status_changed.v1",
                {
                    **referral,
                    "status": "accepted",
                    "from_status": "requested",
                    "by_side": "partner",
                    "at": at + timedelta(days=24),
                },
                at + timedelta(days=24),
            ),
            _event(
                "intake.client.discharged.v1",
                {**client, "discharged_at": at + timedelta(days=120), "reason_code": "goals-met"},
                at + timedelta(days=120),
            ),
        ]
    return events[:count]


def _no_database_rate(events: list[Event]) -> float:
    """The handler's work without the database: the envelope it archives and the dispatch."""
    began = time.perf_counter()
    for event in events:
        event.to_cloudevent()
        PROJECTORS.get(event.type)
    return len(events) / (time.perf_counter() - began)


def run_reporting(count: int) -> list[Outcome]:
    name = f"casehub_bench_reporting_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_admin_conninfo(), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = make_url(DATABASE_URL).set(database=name, drivername="postgresql+psycopg")
    settings = Settings(
        service="reporting",
        data_dir=Path("/tmp"),
        database_url=url.render_as_string(hide_password=False),
        broker_url="memory://",
    )
    runtime = ServiceRuntime(load_spec("reporting"), settings, platform_topology(settings))
    outcome = Outcome("reporting")
    try:
        runtime.migrate()
        events = synthetic_events(count)
        baseline = _no_database_rate(events)
        handlers = runtime.spec.handlers
        began = time.perf_counter()
        for start in range(0, len(events), BATCH):
            with runtime.unit_of_work() as uow:
                for event in events[start : start + BATCH]:
                    handlers[event.routing_key](event, uow)
        projected = len(events) / (time.perf_counter() - began)
        outcome.add(
            f"projection, {len(events):,} events ({BATCH} a transaction)",
            projected,
            "events/s",
            baseline=baseline,
            baseline_name="same loop, no database",
        )
        began = time.perf_counter()
        result = rebuild(runtime.database)
        took = time.perf_counter() - began
        rate = result.events / took
        outcome.add(
            f"rebuild, {result.events:,} archived events",
            rate,
            "events/s",
            baseline=projected,
            baseline_name="live projection",
        )
        outcome.add("rebuild of 1,000,000 events (extrapolated)", MILLION / rate / 60, "min")
        outcome.notes.append(
            f"Rebuild of {result.events:,} events took {took:.1f} s. The million-event figure is "
            "a linear extrapolation from this run, not a measurement: the rebuild pages the "
            "archive by position and flushes every 2,000 events, so memory stays flat and time "
            "should grow linearly, but on this shared 2-CPU machine (other test suites running) "
            "take it as an order of magnitude only."
        )
    finally:
        runtime.database.dispose()
        with psycopg.connect(_admin_conninfo(), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return [outcome]
