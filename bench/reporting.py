"""Reporting's projection and rebuild on real PostgreSQL: events/s through the service's own
handler (50 events a transaction, each recorded in the inbox, as a consumer batch), against the
same loop doing everything but the database (decode, dispatch); then the rebuild from the event
archive — the embedded default's segment folder and the RabbitMQ stream — against reading and
decoding that archive with no database work.

``--reporting-events 1000000`` measures a million-event rebuild: the archive is then filled by
the fastest honest path (ten validated events an episode built once per block of 1,000 and
copied with fresh UUIDs; pipelined confirms into the stream), and each bare-read baseline reads
the first 200,000 events rather than the whole archive (same code, same run, a fifth the time).
Every rebuild figure is printed as soon as it is measured, with the load average around it."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import amqp
import psycopg
from sqlalchemy import make_url

from bench.environment import BROKER_URL, DATABASE_URL, _admin_conninfo
from bench.report import Outcome
from services.catalog import load_spec, platform_topology
from services.reporting.operations.projection import PROJECTORS
from services.reporting.operations.rebuild import rebuild
from shared.config import Settings
from shared.contracts import REGISTRY, Event
from shared.db import insert_ignoring_duplicates
from shared.messaging.archive import EventArchive, FolderArchive, StreamArchive
from shared.messaging.broker import open_connection
from shared.messaging.publisher import CONTENT_TYPE, OutgoingMessage, encode, make_publisher
from shared.messaging.topology import Topology
from shared.service import ServiceRuntime

BATCH = 50
#: The live projection is timed on at most this many events (it runs at the database's pace);
#: the rebuild takes the whole archive.
PROJECTION_SAMPLE = 2_000
#: Above this many events the archive is filled in copied blocks and the bare-read baseline reads
#: this many events (the first ones), not all of them.
LARGE = 200_000
#: Events of one generated block (a hundred episodes), copied with fresh UUIDs for large archives.
BLOCK = 1_000
#: Unconfirmed messages in flight while filling the stream (confirms pipelined, not per batch).
IN_FLIGHT = 5_000
_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


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
    """The handler's work without the database: the envelope decoded, the projector looked up."""
    began = time.perf_counter()
    for event in events:
        Event.from_cloudevent(event.to_cloudevent())
        PROJECTORS.get(event.type)
    return len(events) / (time.perf_counter() - began)


def _bodies(events: list[Event]) -> list[tuple[str, bytes]]:
    return [(event.routing_key, encode(event.to_cloudevent())) for event in events]


def copied_bodies(count: int) -> Iterator[tuple[str, bytes]]:
    """``count`` archived bodies: one block of ``synthetic_events`` built and validated once,
    then each block a copy with every UUID replaced by a fresh one, the same throughout the
    block, so an episode's events still name the same client, episode, plan and referral."""
    template = _bodies(synthetic_events(BLOCK))
    made = 0
    while made < count:
        fresh: dict[bytes, bytes] = {}

        def replace_uuid(found: re.Match[bytes], fresh: dict[bytes, bytes] = fresh) -> bytes:
            return fresh.setdefault(found.group(0), str(uuid.uuid4()).encode())

        for key, body in template[: count - made]:
            yield key, _UUID.sub(replace_uuid, body)
        made += min(BLOCK, count - made)


def _read_rate(archive: EventArchive, limit: int | None = None) -> tuple[int, float]:
    """Reading the archive (its first ``limit`` events) and decoding each event as the rebuild
    does, no database."""
    handlers = {contract.routing_key: None for contract in REGISTRY}
    began = time.perf_counter()
    count = 0
    messages = archive.read("first", until=archive.end_mark())
    for message in messages:
        event = Event.from_cloudevent(json.loads(message.body))
        REGISTRY.validate(event.type, event.data, tolerant=True)
        handlers.get(event.routing_key)
        count += 1
        if count == limit:
            break
    took = time.perf_counter() - began
    messages.close()  # type: ignore[attr-defined]
    return count, count / took


def _fill_stream(settings: Settings, topology: Topology, bodies: list[tuple[str, bytes]]) -> None:
    """As the relays publish: batches of 500 on a confirm-mode channel, into the stream only."""
    connection = open_connection(settings)
    try:
        topology.declare(connection)
        publisher = make_publisher(connection, 30.0)
        for start in range(0, len(bodies), 500):
            batch = [
                OutgoingMessage(n, str(n), settings.exchange, key, body)
                for n, (key, body) in enumerate(bodies[start : start + 500], start=start)
            ]
            outcome = publisher.publish(batch)
            assert len(outcome.confirmed) == len(batch), outcome.failed
        publisher.close()
    finally:
        connection.release()


def _fill_stream_pipelined(
    settings: Settings, topology: Topology, bodies: list[tuple[str, bytes]]
) -> None:
    """Into the stream only, as the relays publish each message (same properties), but with up to
    ``IN_FLIGHT`` unconfirmed at once instead of waiting for each batch's confirms."""
    connection = open_connection(settings)
    try:
        topology.declare(connection)
        channel = connection.channel()
        channel.confirm_select()
        confirmed = [0]
        failed: list[int] = []

        def on_ack(tag: int, multiple: bool) -> None:
            confirmed[0] = max(confirmed[0], tag)

        def on_nack(tag: int, multiple: bool) -> None:
            failed.append(tag)

        channel.events["basic_ack"].add(on_ack)
        channel.events["basic_nack"].add(on_nack)
        for tag, (key, body) in enumerate(bodies, start=1):
            channel.basic_publish(
                amqp.Message(
                    body,
                    content_type=CONTENT_TYPE,
                    content_encoding="utf-8",
                    delivery_mode=2,
                    message_id=str(tag),
                ),
                exchange=settings.exchange,
                routing_key=key,
            )
            while tag - confirmed[0] >= IN_FLIGHT:
                connection.drain_events(timeout=30)
        while confirmed[0] < len(bodies):
            connection.drain_events(timeout=30)
        assert not failed, f"{len(failed)} messages nacked"
    finally:
        connection.release()


def _drop_stream(settings: Settings, topology: Topology) -> None:
    connection = open_connection(settings)
    try:
        channel = connection.channel()
        channel.queue_delete(topology.archive_name)
        channel.exchange_delete(settings.exchange)
    finally:
        connection.release()


def _rebuild(
    outcome: Outcome, runtime: ServiceRuntime, archive: EventArchive, where: str, count: int
) -> float:
    limit = LARGE if count > LARGE else None
    load_before = os.getloadavg()
    read, baseline = _read_rate(archive, limit)
    load_between = os.getloadavg()
    began = time.perf_counter()
    result = rebuild(runtime, archive)
    took = time.perf_counter() - began
    load_after = os.getloadavg()
    assert result.events == count and not result.failed_event_ids and not result.skipped, result
    assert read == min(count, limit or count)
    rate = result.events / took
    first = f"the first {read:,} events of " if limit else ""
    figure = outcome.add(
        f"rebuild from {where}, {result.events:,} events",
        rate,
        "events/s",
        baseline=baseline,
        baseline_name=f"reading + decoding {first}{where}, no database",
    )
    if limit:
        outcome.add(f"rebuild of {result.events:,} events from {where}", took / 60, "min")
    outcome.notes.append(
        f"Rebuild from {where}: {result.events:,} events in {took:.1f} s ({took / 60:.1f} min); "
        f"bare read of {read:,} events at {baseline:,.0f} events/s. Load average (1, 5, 15 min) "
        f"{_load(load_before)} before the bare read, {_load(load_between)} before the rebuild, "
        f"{_load(load_after)} after."
    )
    print(f"   {figure.name}: {rate:,.0f} events/s in {took:.1f} s", file=sys.stderr, flush=True)
    print(f"   {outcome.notes[-1]}", file=sys.stderr, flush=True)
    return rate


def _load(load: tuple[float, float, float]) -> str:
    return "/".join(f"{value:.1f}" for value in load)


def run_reporting(
    count: int, *, stream: bool = True, folder: bool = True, projection: bool = True
) -> list[Outcome]:
    """The live projection on a sample, then a rebuild of ``count`` events from the RabbitMQ
    stream and from the embedded default's folder, each against its bare read."""
    name = f"casehub_bench_reporting_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_admin_conninfo(), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = make_url(DATABASE_URL).set(database=name, drivername="postgresql+psycopg")
    data_dir = Path(tempfile.mkdtemp(prefix="casehub-bench-archive-"))
    settings = Settings(
        service="reporting",
        data_dir=data_dir,
        database_url=url.render_as_string(hide_password=False),
        broker_url="filesystem://",
        exchange=f"casehub.bench.reporting.{uuid.uuid4().hex[:8]}",
    )
    runtime = ServiceRuntime(load_spec("reporting"), settings, platform_topology(settings))
    outcome = Outcome("reporting")
    streamed = replace(settings, broker_url=BROKER_URL)
    only_the_stream = Topology.build(streamed.exchange, {}, queue_prefix=streamed.exchange + ".")
    try:
        runtime.migrate()
        if projection:
            _projection(outcome, runtime, synthetic_events(min(count, PROJECTION_SAMPLE)))
        began = time.perf_counter()
        large = count > LARGE
        bodies = list(copied_bodies(count)) if large else _bodies(synthetic_events(count))
        outcome.notes.append(
            f"Archive of {len(bodies):,} events generated in {time.perf_counter() - began:.0f} s."
        )
        if stream:
            began = time.perf_counter()
            if large:
                _fill_stream_pipelined(streamed, only_the_stream, bodies)
            else:
                _fill_stream(streamed, only_the_stream, bodies)
            outcome.notes.append(f"Stream filled in {time.perf_counter() - began:.0f} s.")
            stream_archive = StreamArchive(
                lambda: open_connection(streamed), only_the_stream.archive_name, 30.0
            )
            _rebuild(outcome, runtime, stream_archive, "the RabbitMQ stream", len(bodies))
        if folder:
            archive = runtime.event_archive()
            assert isinstance(archive, FolderArchive)
            for start in range(0, len(bodies), 500):
                archive.append(bodies[start : start + 500])
            _rebuild(outcome, runtime, archive, "the archive folder", len(bodies))
    finally:
        runtime.database.dispose()
        shutil.rmtree(data_dir, ignore_errors=True)
        if stream:
            _drop_stream(streamed, only_the_stream)
        with psycopg.connect(_admin_conninfo(), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return [outcome]


def _projection(outcome: Outcome, runtime: ServiceRuntime, sample: list[Event]) -> None:
    """The live path: the service's handler, ``BATCH`` events a transaction with the inbox."""
    baseline = _no_database_rate(sample)
    handlers = runtime.handlers()
    inbox = runtime.spec.tables.inbox
    began = time.perf_counter()
    for start in range(0, len(sample), BATCH):
        with runtime.unit_of_work() as uow:
            batch = sample[start : start + BATCH]
            insert_ignoring_duplicates(
                uow.session,
                inbox,
                [{"event_id": e.id, "event_type": e.type, "received_at": e.time} for e in batch],
                inbox.c.event_id,
            )
            for event in batch:
                handlers[event.routing_key](event, uow)
    projected = len(sample) / (time.perf_counter() - began)
    outcome.add(
        f"projection, {len(sample):,} events ({BATCH} a transaction, with the inbox)",
        projected,
        "events/s",
        baseline=baseline,
        baseline_name="same loop, no database",
    )
