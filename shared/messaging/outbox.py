"""Transactional outbox: events are rows written with the change, then relayed to the broker."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, event, func, select
from sqlalchemy.orm import Session

from shared import at_commit, context, metrics, tracing
from shared import audit_chain as _commit_hook  # noqa: F401 - inserts the rows kept at commit
from shared.contracts import ContractRegistry, Event
from shared.db import CommitNotifier, Database

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
        notifier: CommitNotifier | None = None,
    ) -> None:
        """``notifier``: on PostgreSQL, what wakes relays in other processes after a commit
        that wrote events (the embedded default's relay runs in this process: ``written``)."""
        self.service = service
        self.outbox = outbox
        self.registry = registry
        self.notifier = notifier
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
        """Add the event's row to the session's transaction: inserted when it commits, in the
        statement that chains the transaction's audit row where there is one (a round trip
        fewer for every audited change that raises an event); gone with a rollback, or with the
        savepoint it was written in."""
        at_commit.insert_at_commit(
            session,
            self.outbox,
            {
                "event_id": event.id,
                "event_type": event.type,
                "routing_key": event.routing_key,
                "subject": event.subject,
                "payload": json.dumps(event.to_cloudevent(), separators=(",", ":"), sort_keys=True),
                "created_at": datetime.now(UTC),
            },
        )
        session.info[WAKE_KEY] = self  # the relays are woken once this transaction commits

    def after_commit(self) -> None:
        """Wake the relays: one running in this process (the embedded default) at once, those
        of other processes through the notifier (they poll otherwise)."""
        self.written.set()
        if self.notifier is not None:
            self.notifier.notify()


@event.listens_for(Session, "after_commit")
def _wake_relays(session: Session) -> None:
    """Whatever committed the events (a unit of work, a consumer's batch, a script), the relays
    learn of them right after the commit, never before it and never for a rollback."""
    writer = session.info.pop(WAKE_KEY, None)
    if writer is not None:
        writer.after_commit()


@event.listens_for(Session, "after_transaction_create")
def _no_wake_from_an_earlier_transaction(session: Session, transaction: Any) -> None:
    """A new outermost transaction starts with nothing to announce (one that rolled back left
    its mark). Not on a rollback itself: that fires for a savepoint too, which would silence a
    consumer batch's events committed after one event's savepoint was rolled back."""
    if transaction.parent is None:
        session.info.pop(WAKE_KEY, None)


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
