"""Outbox and inbox under weeks of steady load, at the size they settle to.

Each simulated day, intake's outbox gets a day's events (published), and its inbox a day's handled
event ids; then the relay's pruning and the worker's inbox expiry run (the same functions the
processes run hourly, told the simulated day's end as now), and a VACUUM plays autovacuum's part.
Rows and on-disk size (table, indexes and TOAST) are read after each day. Once the retention
windows are full (outbox 7 days, inbox 30 by default), each table must hold its window's events and
no more, and a further week of the same load must leave its size where it was."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import func, insert, make_url, select

from bench.environment import Stack
from bench.report import Outcome
from services.catalog import runtime_for
from shared.worker import remove_old_inbox_entries

#: Within this of the week before counts as flat (the day's rows arrive spread over the day, and
#: a VACUUM leaves a page's free space to later inserts rather than returning it).
FLAT = 1.10
EVENT_TYPE = "casehub.intake.client.registered.v1"


def _payload(event_id: str, at: datetime) -> str:
    """About the size of a real registration envelope (CloudEvents JSON)."""
    return json.dumps(
        {
            "specversion": "1.0",
            "id": event_id,
            "source": "casehub/intake",
            "type": EVENT_TYPE,
            "subject": f"client/{event_id}",
            "time": at.isoformat(),
            "datacontenttype": "application/json",
            "data": {
                "client_id": event_id,
                "client_reference": "C-100000",
                "episode_id": str(uuid.uuid4()),
                "programme": "intensive case management",
                "registered_by": "intake-worker-1",
                "registered_at": at.isoformat(),
            },
        }
    )


def _day(start: datetime, per_day: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    step = timedelta(days=1) / per_day
    outbox, inbox = [], []
    for n in range(per_day):
        at = start + n * step
        event_id = str(uuid.uuid4())
        outbox.append(
            {
                "event_id": event_id,
                "event_type": EVENT_TYPE,
                "routing_key": "intake.client.registered.v1",
                "subject": f"client/{event_id}",
                "payload": _payload(event_id, at),
                "created_at": at,
                "published_at": at + timedelta(milliseconds=50),
                "attempts": 1,
            }
        )
        inbox.append({"event_id": str(uuid.uuid4()), "event_type": EVENT_TYPE, "received_at": at})
    return outbox, inbox


def run_retention(per_day: int) -> Outcome:
    outcome = Outcome("table retention")
    with Stack(("intake",)) as stack:
        stack.migrate("intake")
        runtime = runtime_for("intake", stack.settings("intake"))
        tables, settings = runtime.spec.tables, runtime.settings
        relay = runtime.relay()
        inbox_window = max(settings.inbox_retention_days, settings.outbox_retention_days + 1)
        days = int(inbox_window) + 14  # the longer window fills, then two more weeks of load
        first = datetime(2026, 1, 1, tzinfo=UTC)
        daily: list[tuple[int, int, int, int]] = []  # outbox rows, bytes, inbox rows, bytes
        url = make_url(stack.databases["intake"]).set(drivername="postgresql")
        with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as admin:
            for day in range(days):
                outbox_rows, inbox_rows = _day(first + timedelta(days=day), per_day)
                with runtime.database.session() as session, session.begin():
                    session.execute(insert(tables.outbox), outbox_rows)
                    session.execute(insert(tables.inbox), inbox_rows)
                end_of_day = first + timedelta(days=day + 1)
                relay.remove_old_published(now=end_of_day)
                remove_old_inbox_entries(runtime, now=end_of_day)
                admin.execute(f"VACUUM {tables.outbox.name}, {tables.inbox.name}")
                with runtime.database.session() as session:
                    counts = [
                        session.scalar(select(func.count()).select_from(table))
                        for table in (tables.outbox, tables.inbox)
                    ]
                sizes = [
                    admin.execute(
                        "SELECT pg_total_relation_size(%s::regclass)", (table.name,)
                    ).fetchone()[0]  # type: ignore[index]
                    for table in (tables.outbox, tables.inbox)
                ]
                daily.append((counts[0] or 0, sizes[0], counts[1] or 0, sizes[1]))
        runtime.database.dispose()
    last, week_before = daily[-1], daily[-8]
    for name, rows_at, bytes_at, window in (
        ("outbox", 0, 1, settings.outbox_retention_days),
        ("inbox", 2, 3, inbox_window),
    ):
        outcome.add(
            f"{name} rows after {days} days of {per_day:,} events a day",
            last[rows_at],
            "rows",
            baseline=window * per_day,
            baseline_name=f"its {window:g}-day window's events",
            target=f"≤ {FLAT:.2f}x",
            check=lambda f: (f.ratio or 0) <= FLAT,
        )
        outcome.add(
            f"{name} on disk (table, indexes, TOAST)",
            last[bytes_at] / 2**20,
            "MiB",
            baseline=week_before[bytes_at] / 2**20,
            baseline_name="a week earlier",
            target=f"≤ {FLAT:.2f}x",
            check=lambda f: (f.ratio or 0) <= FLAT,
        )
    peak = {name: max(day[i] for day in daily) / 2**20 for name, i in (("outbox", 1), ("inbox", 3))}
    outcome.notes.append(
        f"{days} simulated days of {per_day:,} events a day on PostgreSQL: each day's rows, then "
        "the relay's `remove_old_published` and the worker's `remove_old_inbox_entries` at the "
        "day's end, then a VACUUM (autovacuum's part). Largest size seen: outbox "
        f"{peak['outbox']:.1f} MiB, inbox {peak['inbox']:.1f} MiB. Rows a day: "
        + ", ".join(f"{o:,}/{i:,}" for o, _, i, _ in daily[:: max(1, days // 8)])
        + " (outbox/inbox, every few days)."
    )
    return outcome
