"""The outbox relay: claims pending rows, publishes them with confirms, marks them sent."""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from kombu import Connection
from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from shared import metrics, tracing
from shared.config import Settings
from shared.db import CommitSignal, Database, one_of
from shared.logging import get_logger
from shared.messaging.broker import next_backoff, open_connection
from shared.messaging.outbox import OutboxWriter, notification_channel
from shared.messaging.publisher import OutgoingMessage, Publisher, make_publisher
from shared.messaging.tables import MessagingTables
from shared.messaging.topology import Topology

log = get_logger(__name__)
#: The envelope's traceparent, read without parsing the JSON (compact, keys sorted).
_TRACEPARENT = re.compile(r'"traceparent":"([0-9a-f-]{55})"')


def publishing_waves(rows: Sequence[Row[Any]]) -> list[list[Row[Any]]]:
    """Wave k holds the k-th pending row of each subject, so a subject's events go out in order
    and a later one is never confirmed while an earlier one of the same subject failed."""
    waves: list[list[Row[Any]]] = []
    position: dict[str, int] = defaultdict(int)
    for row in rows:
        index = position[row.subject]
        position[row.subject] += 1
        if index == len(waves):
            waves.append([])
        waves[index].append(row)
    return waves


class RelayWaker:
    """Wakes the relay right after a commit; polling remains the safety net."""

    def __init__(self, database: Database, service: str, writer: OutboxWriter) -> None:
        self._writer = writer
        self._signal = CommitSignal(database, notification_channel(service))
        if database.is_postgresql and not self._signal.listening:
            log.warning("relay.listen_unavailable")

    def wait(self, timeout: float) -> None:
        if self._signal.listening:
            self._signal.wait(timeout)
            return
        self._writer.written.wait(timeout)
        self._writer.written.clear()

    def close(self) -> None:
        self._signal.close()


class OutboxRelay:
    """Publishes a service's outbox; several relays may run (``FOR UPDATE SKIP LOCKED``)."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        tables: MessagingTables,
        topology: Topology,
        writer: OutboxWriter,
        connection_factory: Callable[[], Connection] | None = None,
    ) -> None:
        self.settings = settings
        self.service = settings.service
        self.database = database
        self.outbox = tables.outbox
        self.topology = topology
        self.writer = writer
        self._connection_factory = connection_factory or (lambda: open_connection(settings))
        self._connection: Connection | None = None
        self._publisher: Publisher | None = None
        self._last_cleanup = 0.0

    def _ensure_publisher(self) -> Publisher:
        if self._publisher is None:
            connection = self._connection_factory()
            try:
                self.topology.declare(connection)
            except BaseException:
                connection.release()
                raise
            self._connection = connection
            self._publisher = make_publisher(connection, self.settings.confirm_timeout)
        return self._publisher

    def _drop_connection(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.release()
        self._connection = None
        self._publisher = None

    def _one_of(self, column: Any, values: Any) -> Any:
        return one_of(column, values, postgresql=self.database.is_postgresql)

    def _select(self, session: Any, among: Sequence[int] | None = None) -> list[Row[Any]]:
        """Unpublished rows in order (``among``: only those), locked on PostgreSQL so several
        relays never send the same row at once, less any whose subject has an earlier row
        locked by another relay (that one must go first)."""
        outbox = self.outbox
        query = select(
            outbox.c.id,
            outbox.c.event_id,
            outbox.c.routing_key,
            outbox.c.subject,
            outbox.c.payload,
            outbox.c.event_type,
        ).where(outbox.c.published_at.is_(None))
        if among is not None:
            query = query.where(self._one_of(outbox.c.id, among))
        query = query.order_by(outbox.c.id).limit(self.settings.relay_batch_size)
        if not self.database.is_postgresql:
            return list(session.execute(query).all())
        rows = list(session.execute(query.with_for_update(skip_locked=True)).all())
        if not rows:
            return rows
        claimed = [row.id for row in rows]
        blockers = session.execute(
            select(outbox.c.subject, func.min(outbox.c.id))
            .where(
                outbox.c.published_at.is_(None),
                self._one_of(outbox.c.subject, {row.subject for row in rows}),
                ~self._one_of(outbox.c.id, claimed),
                outbox.c.id < max(claimed),
            )
            .group_by(outbox.c.subject)
        ).all()
        first_blocked = dict(blockers)
        return [
            row
            for row in rows
            if row.subject not in first_blocked or row.id < first_blocked[row.subject]
        ]

    def _record_attempts(self) -> list[int]:
        """Claim a batch and count the attempt in its own committed transaction, before anything
        is sent: a relay killed mid-batch leaves the count behind, so the next relay's re-send
        shows as a second attempt (the inboxes skip the copies)."""
        session = self.database.session()
        try:
            with session.begin():
                ids = [row.id for row in self._select(session)]
                if ids:
                    session.execute(
                        update(self.outbox)
                        .where(self._one_of(self.outbox.c.id, ids))
                        .values(attempts=self.outbox.c.attempts + 1)
                    )
        finally:
            session.close()
        return ids

    def _claim(self, session: Any) -> tuple[list[int], list[Row[Any]]]:
        """The rows counted by ``_record_attempts`` still unpublished, locked again for sending
        (a row another relay claimed in between is left to it, and so are the rows after it).
        Returns the ids counted and the rows this relay now holds."""
        ids = self._record_attempts()
        return ids, (self._select(session, ids) if ids else [])

    def _forget_attempts(self, ids: Sequence[int]) -> None:
        """Take back the count of rows this relay counted but did not get to send (another relay
        took them between the count and the lock): an attempt is a relay that set out to send
        the row, so contention between live relays never inflates it. Run after the publishing
        transaction, holding no lock, so it waits for the other relay rather than deadlocking."""
        session = self.database.session()
        try:
            with session.begin():
                session.execute(
                    update(self.outbox)
                    .where(self._one_of(self.outbox.c.id, ids), self.outbox.c.attempts > 0)
                    .values(attempts=self.outbox.c.attempts - 1)
                )
        finally:
            session.close()

    def publish_pending(self) -> int:
        """Publish one claimed batch; return how many rows were marked sent."""
        publisher = self._ensure_publisher()
        session = self.database.session()
        published: list[int] = []
        failures: dict[int, str] = {}
        spans: dict[int, Any] = {}
        traced = tracing.recording()
        counted: list[int] = []
        rows: list[Row[Any]] = []
        try:
            with session.begin():
                counted, rows = self._claim(session)
                if not rows:
                    return 0
                by_id = {row.id: row for row in rows}
                blocked_subjects: set[str] = set()
                broken: BaseException | None = None
                for wave in publishing_waves(rows):
                    wave = [row for row in wave if row.subject not in blocked_subjects]
                    if not wave:
                        continue
                    if traced:
                        spans.update((row.id, self._publish_span(row)) for row in wave)
                    try:
                        outcome = publisher.publish(
                            [self._message(row, spans.get(row.id)) for row in wave]
                        )
                    except Exception as error:
                        broken = error
                        break
                    published.extend(outcome.confirmed)
                    for row_id in outcome.unroutable:
                        row = by_id[row_id]
                        if self.topology.expects_route(row.routing_key):
                            failures[row_id] = "unroutable: a subscriber's queue is missing"
                        else:
                            published.append(row_id)  # nobody subscribes to this type by design
                    failures.update(outcome.failed)
                    blocked_subjects.update(by_id[row_id].subject for row_id in failures)
                now = datetime.now(UTC)
                if published:
                    session.execute(
                        update(self.outbox)
                        .where(self._one_of(self.outbox.c.id, published))
                        .values(published_at=now)
                    )
                for row_id, reason in failures.items():
                    session.execute(
                        update(self.outbox)
                        .where(self.outbox.c.id == row_id)
                        .values(last_error=reason)
                    )
        finally:
            session.close()
            taken_by_another = sorted(set(counted) - {row.id for row in rows})
            if taken_by_another:
                try:
                    self._forget_attempts(taken_by_another)
                except Exception as error:  # a count left high misleads no one; never mask
                    log.warning("relay.attempts_not_taken_back", error=type(error).__name__)
            for row_id, span in spans.items():
                failed = failures.get(row_id) or (None if row_id in published else "not sent")
                tracing.end_span(span, failed=failed)
        for row_id in published:
            metrics.EVENTS_PUBLISHED.labels(self.service, by_id[row_id].event_type).inc()
        for reason in failures.values():
            metrics.EVENTS_PUBLISH_FAILED.labels(self.service, reason.split(":")[0]).inc()
        if failures:
            log.warning(
                "relay.publish_failed", count=len(failures), reasons=sorted(set(failures.values()))
            )
        if broken is not None:
            raise broken
        return len(published)

    def _publish_span(self, row: Row[Any]) -> Any:
        """A producer span per event, child of the span that raised it (the envelope's
        traceparent), ended when the broker confirms or refuses it."""
        found = _TRACEPARENT.search(row.payload)
        return tracing.start_span(
            f"publish {row.routing_key}",
            kind=tracing.SpanKind.PRODUCER,
            parent=tracing.context_from(found.group(1) if found else None),
            attributes={
                "messaging.system": "rabbitmq",
                "messaging.operation.type": "publish",
                "messaging.destination.name": self.topology.exchange_name,
                "messaging.rabbitmq.destination.routing_key": row.routing_key,
                "messaging.message.id": row.event_id,
                "casehub.service": self.service,
            },
        )

    def _message(self, row: Row[Any], span: Any = None) -> OutgoingMessage:
        """With a span, its traceparent rides in the message's headers: the consumer's span is
        its child, while the envelope keeps the producer's (what the event's trace started as)."""
        headers = (
            {"traceparent": tracing.format_traceparent(span.get_span_context())} if span else {}
        )
        return OutgoingMessage(
            key=row.id,
            message_id=row.event_id,
            exchange=self.topology.exchange_name,
            routing_key=row.routing_key,
            body=row.payload.encode(),
            headers=headers,
        )

    def remove_old_published(self, now: datetime | None = None) -> int:
        """Published rows are kept a while for inspection, then removed so the table stays small."""
        cutoff = (now or datetime.now(UTC)) - timedelta(days=self.settings.outbox_retention_days)
        with self.database.session() as session, session.begin():
            result = session.execute(
                delete(self.outbox).where(
                    self.outbox.c.published_at.is_not(None), self.outbox.c.published_at < cutoff
                )
            )
        return result.rowcount or 0

    def run(self, stop: threading.Event) -> None:
        """Until ``stop``: publish, sleep until woken or the poll interval; reconnect with backoff."""
        waker = RelayWaker(self.database, self.service, self.writer)
        poll = self.settings.relay_poll_interval
        if not self.database.is_postgresql:
            poll = min(poll, 0.1)
        backoff = 0.5
        try:
            while not stop.is_set():
                try:
                    published = self.publish_pending()
                    backoff = 0.5
                    if time.monotonic() - self._last_cleanup > 60:
                        self._last_cleanup = time.monotonic()
                        self.remove_old_published()
                    if published < self.settings.relay_batch_size:
                        waker.wait(poll)
                except SQLAlchemyError as error:
                    log.warning("relay.database_unavailable", error=str(error).splitlines()[0])
                    stop.wait(backoff)
                    backoff = next_backoff(backoff)
                except Exception as error:
                    log.warning("relay.broker_unavailable", error=repr(error))
                    self._drop_connection()
                    stop.wait(backoff)
                    backoff = next_backoff(backoff)
        finally:
            waker.close()
            self._drop_connection()
