"""Transactional outbox: events are rows written with the change, then relayed to the broker."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Insert, Table, func, insert, select
from sqlalchemy.orm import Session

from shared import context, metrics, tracing
from shared.contracts import ContractRegistry, Event
from shared.db import Database

WAKE_KEY = "casehub_outbox_written"


def notification_channel(service: str) -> str:
    """PostgreSQL LISTEN/NOTIFY channel that wakes the relay right after a commit."""
    return f"casehub_outbox_{service}"


class OutboxWriter:
    """Validates an event against its contract and adds it to the current transaction."""

    def __init__(
        self,
        service: str,
        outbox: Table,
        registry: ContractRegistry,
        *,
        notify_postgresql: bool,
    ) -> None:
        self.service = service
        self.outbox = outbox
        self.registry = registry
        self.notify_postgresql = notify_postgresql
        self.written = threading.Event()

    def build(self, event_type: str, *, subject: str, data: Mapping[str, Any]) -> Event:
        """Raises ContractViolation naming the field when data does not match the contract."""
        validated = self.registry.validate(event_type, data)
        return Event(
            type=event_type,
            source=f"/{self.service}",
            subject=subject,
            data=validated,
            correlationid=context.correlation_id.get(),
            causationid=context.causation_id.get(),
            traceparent=tracing.current_traceparent(),
        )

    def write(self, session: Session, event: Event) -> None:
        # The relay's wake-up rides on the first insert of a transaction: one round trip instead
        # of two. Like any NOTIFY it reaches the relay only when the transaction commits.
        wake = self.notify_postgresql and not session.info.get(WAKE_KEY)
        session.execute(
            self._insert_waking if wake else self._insert,
            {
                "event_id": event.id,
                "event_type": event.type,
                "routing_key": event.routing_key,
                "subject": event.subject,
                "payload": json.dumps(event.to_cloudevent(), separators=(",", ":"), sort_keys=True),
                "created_at": datetime.now(UTC),
            },
        )
        session.info[WAKE_KEY] = True

    @functools.cached_property
    def _insert(self) -> Insert:
        """Built once, values bound at execution (building it per event showed in profiles)."""
        return insert(self.outbox)

    @functools.cached_property
    def _insert_waking(self) -> Insert:
        return insert(self.outbox).returning(func.pg_notify(notification_channel(self.service), ""))

    def after_commit(self) -> None:
        """Wake a relay running in this same process (the embedded default polls otherwise)."""
        self.written.set()


def measure_outbox_lag(database: Database, outbox: Table, service: str) -> tuple[int, float]:
    """Pending rows and the age of the oldest, for /metrics (events waiting on the broker)."""
    with database.read_session() as session:
        count, oldest = session.execute(
            select(func.count(), func.min(outbox.c.created_at)).where(
                outbox.c.published_at.is_(None)
            )
        ).one()
    age = 0.0
    if oldest is not None:
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
        age = max((datetime.now(UTC) - oldest).total_seconds(), 0.0)
    metrics.OUTBOX_PENDING.labels(service).set(count)
    metrics.OUTBOX_OLDEST_AGE.labels(service).set(age)
    return count, age
