"""Consuming a service's queue: validate, handle once (inbox), commit, then ack.

Messages are handled in batches of up to ``prefetch``: one transaction records every event id
in the inbox and runs every handler (consecutive events of a type whose subscription has a batch
hook go to the hook together). If a handler fails the batch is redone with a savepoint per
message and the one-event handlers, so one bad event never rolls back its neighbours' effects.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kombu import Connection, Consumer
from kombu.message import Message
from sqlalchemy import insert, select
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from shared import metrics, tracing
from shared.config import Settings
from shared.contracts import (
    ContractRegistry,
    ContractViolation,
    EnvelopeError,
    Event,
    UnknownEventType,
    envelope_attributes,
)
from shared.db import Database, insert_ignoring_duplicates
from shared.logging import get_logger
from shared.messaging.broker import is_embedded, next_backoff, open_connection
from shared.messaging.embedded import recover_orphaned_messages
from shared.messaging.outbox import OutboxWriter
from shared.messaging.publisher import OutgoingMessage, Publisher, make_publisher
from shared.messaging.subscription import Handler, batch_hook, handling
from shared.messaging.tables import MessagingTables
from shared.messaging.topology import DEFAULT_EXCHANGE, Topology
from shared.retention import ErasedAmong, is_erasure_event
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)

ATTEMPT_HEADER = "x-casehub-attempt"
DUE_HEADER = "x-casehub-due-at"
ERROR_HEADER = "x-casehub-error"
FAILED_AT_HEADER = "x-casehub-failed-at"


def letter_id(message: Message, envelope: Any) -> str:
    """A letter's stable name: its message id, else its event id, else a hash of its body (a
    letter that is not JSON, or not ours, still has one, the same in every listing). A retried
    or dead-lettered message is sent on under this name, so ``casehub dlq`` names it so too."""
    fields = envelope if isinstance(envelope, dict) else {}
    known = message.properties.get("message_id") or fields.get("id")
    if known:
        return str(known)
    body = message.body if isinstance(message.body, bytes) else str(message.body).encode()
    return "sha256:" + hashlib.sha256(body).hexdigest()


class _RedoOneByOne(Exception):
    """A handler failed inside the batch transaction, which is rolled back; it is not run again."""


class InvalidEvent(ValueError):
    """Not a valid event for this service: it goes to the dead-letter queue at once."""


@dataclass
class Delivery:
    message: Message
    event: Event | None = None
    handler: Handler | None = None
    outcome: str = "pending"  # handled | duplicate | erased | failed
    error: str | None = None
    #: The type its envelope names when the service handles that type, even if the event itself
    #: is refused (metrics label a dead-lettered risk flag as one, not as "unknown").
    claimed_type: str | None = None


class EventConsumer:
    """Consumes ``<service>.events`` with competing-consumer semantics."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        tables: MessagingTables,
        topology: Topology,
        registry: ContractRegistry,
        handlers: Mapping[str, Handler],
        writer: OutboxWriter,
        *,
        connection_factory: Callable[[], Connection] | None = None,
        before_ack: Callable[[Sequence[Delivery]], None] | None = None,
        erased_among: ErasedAmong | None = None,
    ) -> None:
        self.settings = settings
        self.service = settings.service
        self.database = database
        self.inbox = tables.inbox
        self.topology = topology
        self.registry = registry
        self.handlers = dict(handlers)
        self.writer = writer
        self._connection_factory = connection_factory or (lambda: open_connection(settings))
        self._before_ack = before_ack
        self._erased_among = erased_among
        self._buffer: list[Message] = []
        #: RabbitMQ acks a whole batch with one ``multiple`` ack; kombu's virtual transports
        #: ignore ``multiple``, so there each message is acked.
        self._ack_whole_batch = False

    # -- decoding -------------------------------------------------------------------------------
    def _decode(self, message: Message) -> Delivery:
        """The event with its data validated against its contract: read once, kept both as sent
        on (serialisable) and as loaded values (``Event.values``) for the handler."""
        delivery = Delivery(message)
        try:
            try:
                envelope = json.loads(message.body)
            except (ValueError, TypeError) as error:
                raise InvalidEvent(f"body is not JSON: {error}") from None
            named = envelope.get("type") if isinstance(envelope, dict) else None
            if isinstance(named, str) and named.removeprefix("casehub.") in self.handlers:
                delivery.claimed_type = named
            attributes = envelope_attributes(envelope)
            event_type = attributes["type"]
            routing_key = event_type.removeprefix("casehub.")
            handler = self.handlers.get(routing_key)
            if handler is None:
                raise InvalidEvent(f"{self.service} has no handler for {routing_key}")
            attributes["data"], values = self.registry.read(event_type, attributes["data"])
        except (InvalidEvent, EnvelopeError, ContractViolation, UnknownEventType) as error:
            delivery.outcome = "invalid"
            delivery.error = str(error)
            return delivery
        delivery.event = Event(**attributes, values=values)
        delivery.handler = handler
        return delivery

    # -- handling -------------------------------------------------------------------------------
    def _processing(
        self, routing_key: str, parent: Any = None, **attributes: Any
    ) -> contextlib.AbstractContextManager[Any]:
        """The consumer span of one event or one batch, or nothing when no trace is recorded."""
        if not tracing.recording():
            return contextlib.nullcontext()
        return tracing.span(
            f"process {routing_key}",
            kind=tracing.SpanKind.CONSUMER,
            parent=parent,
            attributes={
                "messaging.system": "rabbitmq",
                "messaging.operation.type": "process",
                "messaging.rabbitmq.destination.routing_key": routing_key,
                "casehub.service": self.service,
                **attributes,
            },
        )

    def _run_handler(self, delivery: Delivery, uow: UnitOfWork) -> None:
        assert delivery.event is not None and delivery.handler is not None
        event = delivery.event
        with handling(event):
            parent = None
            if tracing.recording():
                parent = tracing.context_from(
                    (delivery.message.headers or {}).get("traceparent"), event.traceparent
                )
            with self._processing(event.routing_key, parent, **{"messaging.message.id": event.id}):
                delivery.handler(event, uow)

    def _run_batch(self, run: list[Delivery], uow: UnitOfWork) -> None:
        """Consecutive events of one type to their subscription's batch hook."""
        hook = batch_hook(run[0].handler)
        assert hook is not None
        events = [delivery.event for delivery in run if delivery.event is not None]
        with self._processing(
            events[0].routing_key, **{"messaging.batch.message_count": len(events)}
        ):
            hook(events, uow)

    @staticmethod
    def _runs(deliveries: list[Delivery]) -> list[list[Delivery]]:
        """The deliveries in order, consecutive ones whose handler has a batch hook together."""
        runs: list[list[Delivery]] = []
        for delivery in deliveries:
            if (
                runs
                and batch_hook(delivery.handler) is not None
                and runs[-1][-1].handler is delivery.handler
            ):
                runs[-1].append(delivery)
            else:
                runs.append([delivery])
        return runs

    def _not_erased(self, session: Any, deliveries: list[Delivery]) -> list[Delivery]:
        """The deliveries to handle: an event about a client this service has erased is recorded
        in the inbox and not run (outcome ``erased``), so a late retry, a dead letter replayed or
        an archive replay cannot bring an erased record back. One query for the whole batch."""
        if self._erased_among is None:
            return deliveries

        def about(delivery: Delivery) -> str | None:
            assert delivery.event is not None
            if is_erasure_event(delivery.event.routing_key):
                return None
            client_id = delivery.event.data.get("client_id")
            return client_id if isinstance(client_id, str) else None

        client_ids = {client_id for d in deliveries if (client_id := about(d)) is not None}
        erased = self._erased_among(session, client_ids) if client_ids else set()
        if not erased:
            return deliveries
        kept: list[Delivery] = []
        for delivery in deliveries:
            if about(delivery) in erased:
                delivery.outcome = "erased"
            else:
                kept.append(delivery)
        return kept

    def _inbox_row(self, event: Event) -> dict[str, Any]:
        return {"event_id": event.id, "event_type": event.type, "received_at": datetime.now(UTC)}

    def _handle_together(self, deliveries: list[Delivery]) -> bool:
        """Fast path: one transaction for the batch. False if a handler failed (nothing kept)."""
        session = self.database.session()
        failed: tuple[Delivery, str] | None = None
        try:
            with session.begin():
                unique: dict[str, Delivery] = {}
                for delivery in deliveries:
                    assert delivery.event is not None
                    if delivery.event.id in unique:
                        delivery.outcome = "duplicate"
                    else:
                        unique[delivery.event.id] = delivery
                rows = [self._inbox_row(d.event) for d in unique.values() if d.event is not None]
                new_ids = insert_ignoring_duplicates(
                    session, self.inbox, rows, self.inbox.c.event_id
                )
                uow = UnitOfWork(session, self.writer)
                fresh: list[Delivery] = []
                for event_id, delivery in unique.items():
                    if event_id in new_ids:
                        fresh.append(delivery)
                    else:
                        delivery.outcome = "duplicate"
                for run in self._runs(self._not_erased(session, fresh)):
                    # A failing batch hook names no one event: one by one tells whose it was.
                    blamed = run[0] if len(run) == 1 else None
                    try:
                        if blamed is None:
                            self._run_batch(run, uow)
                        else:
                            self._run_handler(blamed, uow)
                    except SQLAlchemyError as error:
                        if self._is_infrastructure_error(error):
                            raise
                        if blamed is not None:
                            failed = (blamed, f"{type(error).__name__}: {error}")
                        raise _RedoOneByOne from error
                    except Exception as error:
                        if blamed is not None:
                            failed = (blamed, f"{type(error).__name__}: {error}")
                        raise _RedoOneByOne from error
                    for delivery in run:
                        delivery.outcome = "handled"
                try:
                    session.flush()  # a handler's failing write surfaces here, not at commit
                except SQLAlchemyError as error:
                    if self._is_infrastructure_error(error):
                        raise
                    raise _RedoOneByOne from error  # one by one tells whose write it was
        except _RedoOneByOne:
            for delivery in deliveries:
                delivery.outcome = "pending"
            if failed is not None:
                failed[0].outcome, failed[0].error = "failed", failed[1]
            return False
        finally:
            session.close()
        return True

    def _handle_one_by_one(self, deliveries: list[Delivery]) -> None:
        session = self.database.session()
        try:
            with session.begin():
                uow = UnitOfWork(session, self.writer)
                for delivery in deliveries:
                    assert delivery.event is not None
                    if delivery.outcome != "pending":
                        continue
                    try:
                        with session.begin_nested():  # rolled back on any error, flush included
                            exists = session.execute(
                                select(self.inbox.c.event_id).where(
                                    self.inbox.c.event_id == delivery.event.id
                                )
                            ).first()
                            if exists:
                                delivery.outcome = "duplicate"
                                continue
                            session.execute(
                                insert(self.inbox).values(self._inbox_row(delivery.event))
                            )
                            if not self._not_erased(session, [delivery]):
                                continue
                            self._run_handler(delivery, uow)
                        delivery.outcome = "handled"
                    except SQLAlchemyError as error:
                        if not session.is_active or self._is_infrastructure_error(error):
                            raise
                        delivery.outcome, delivery.error = (
                            "failed",
                            f"{type(error).__name__}: {error}",
                        )
                    except Exception as error:
                        delivery.outcome, delivery.error = (
                            "failed",
                            f"{type(error).__name__}: {error}",
                        )
        finally:
            session.close()

    @staticmethod
    def _is_infrastructure_error(error: SQLAlchemyError) -> bool:
        """The database is away or busy (connection lost, deadlock): wait and try again, never
        dead-letter; any other database error is the handler's and counts as its failure."""
        return isinstance(error, OperationalError | InterfaceError) or bool(
            getattr(error, "connection_invalidated", False)
        )

    def process(self, messages: list[Message], publisher: Publisher, stop: threading.Event) -> None:
        deliveries = [self._decode(message) for message in messages]
        valid = [d for d in deliveries if d.outcome != "invalid"]
        backoff = 0.5
        while valid:
            try:
                if not self._handle_together(valid):
                    self._handle_one_by_one(valid)
                break
            except SQLAlchemyError as error:
                log.warning("consumer.database_unavailable", error=str(error).splitlines()[0])
                for delivery in valid:
                    delivery.outcome = "pending"
                if stop.wait(backoff):
                    for delivery in deliveries:
                        delivery.message.requeue()
                    return
                backoff = next_backoff(backoff)
        if self._before_ack is not None:
            self._before_ack(deliveries)
        self._settle(deliveries, publisher)

    # -- acknowledging, retrying, dead-lettering ----------------------------------------------
    def _settle(self, deliveries: list[Delivery], publisher: Publisher) -> None:
        forward: list[tuple[Delivery, OutgoingMessage]] = []
        for delivery in deliveries:
            if delivery.outcome in ("invalid", "failed"):
                forward.append((delivery, self._retry_or_dead_letter(delivery)))
        if forward:
            outcome = publisher.publish([message for _, message in forward])
            confirmed = set(outcome.confirmed)
            for _delivery, message in forward:
                if message.key not in confirmed:
                    raise ConnectionError(f"could not park a failed event: {outcome.failed}")
        for delivery in deliveries:
            event_type = delivery.event.type if delivery.event else delivery.claimed_type
            event_type = event_type or "unknown"
            label = {
                "handled": "handled",
                "duplicate": "duplicate",
                "erased": "skipped_erased",
                "invalid": "dead_lettered",
                "failed": "retried",
            }[delivery.outcome]
            if delivery.outcome == "failed" and self._attempt(delivery.message) >= len(
                self.topology.retry_delays
            ):
                label = "dead_lettered"
            metrics.EVENTS_CONSUMED.labels(self.service, event_type, label).inc()
            if label == "dead_lettered":
                log.error("consumer.dead_lettered", event_type=event_type, error=delivery.error)
            elif label == "retried":
                log.warning("consumer.retry", event_type=event_type, error=delivery.error)
            elif label == "skipped_erased":
                log.info("consumer.skipped_erased_client", event_type=event_type)
            if not self._ack_whole_batch:
                delivery.message.ack()
        if self._ack_whole_batch and deliveries:
            # Every earlier delivery on this channel is settled: one frame acks the batch.
            max(deliveries, key=lambda d: d.message.delivery_tag).message.ack(multiple=True)

    @staticmethod
    def _attempt(message: Message) -> int:
        return int((message.headers or {}).get(ATTEMPT_HEADER, 0))

    @staticmethod
    def _envelope_fields(delivery: Delivery) -> Any:
        """The envelope's fields as far as they can be read (for the letter's name)."""
        if delivery.event is not None:
            return {"id": delivery.event.id}
        try:
            return json.loads(delivery.message.body)
        except (ValueError, TypeError):
            return None

    def _retry_or_dead_letter(self, delivery: Delivery) -> OutgoingMessage:
        message = delivery.message
        attempt = self._attempt(message)
        headers = dict(message.headers or {})
        headers[ERROR_HEADER] = (delivery.error or "")[:1000]
        headers[FAILED_AT_HEADER] = datetime.now(UTC).isoformat()
        delays = self.topology.retry_delays
        if delivery.outcome == "failed" and attempt < len(delays):
            headers[ATTEMPT_HEADER] = attempt + 1
            headers[DUE_HEADER] = time.time() + delays[attempt]
            target = self.topology.retry_queue_names(self.service)[attempt]
        else:
            headers[ATTEMPT_HEADER] = attempt
            target = self.topology.dlq_name(self.service)
        return OutgoingMessage(
            key=id(delivery),
            message_id=letter_id(message, self._envelope_fields(delivery)),
            exchange=DEFAULT_EXCHANGE,
            routing_key=target,
            body=message.body if isinstance(message.body, bytes) else str(message.body).encode(),
            headers=headers,
        )

    # -- the loop -------------------------------------------------------------------------------
    def _collect(self, message: Message) -> None:
        self._buffer.append(message)

    def consume(self, connection: Connection, stop: threading.Event) -> None:
        if connection.transport.driver_type == "filesystem":
            restored = recover_orphaned_messages(self.settings.broker_folder)
            if restored:
                log.info("consumer.recovered_unacknowledged_messages", count=restored)
        self.topology.declare(connection)
        channel = connection.channel()
        publisher = make_publisher(connection, self.settings.confirm_timeout)
        consumer = Consumer(
            channel,
            queues=[self.topology.service_queue(self.service)],
            on_message=self._collect,
            no_ack=False,
            # Twice the batch: the broker sends the next batch while this one is handled, instead
            # of waiting for its ack. Still nothing is acknowledged before its commit.
            prefetch_count=2 * self.settings.prefetch,
        )
        embedded = is_embedded(connection)
        self._ack_whole_batch = not embedded
        self._buffer = []
        with consumer:
            metrics.CONSUMER_CONNECTED.labels(self.service).set(1)
            while not stop.is_set():
                deadline = time.monotonic() + 0.05
                while len(self._buffer) < self.settings.prefetch and time.monotonic() < deadline:
                    try:
                        connection.drain_events(timeout=0.01 if self._buffer else 0.05)
                    except TimeoutError:
                        if not embedded or not self._buffer:
                            break
                if self._buffer:
                    batch, self._buffer = self._buffer, []
                    self.process(batch, publisher, stop)
                if not embedded:
                    connection.heartbeat_check()
        publisher.close()

    def run(self, stop: threading.Event) -> None:
        """Until ``stop``: consume; on a broker failure reconnect with backoff (no restart needed)."""
        backoff = 0.5
        while not stop.is_set():
            connection: Connection | None = None
            try:
                connection = self._connection_factory()
                backoff = 0.5
                self.consume(connection, stop)
            except Exception as error:
                metrics.CONSUMER_CONNECTED.labels(self.service).set(0)
                log.warning("consumer.reconnecting", error=repr(error))
                stop.wait(backoff)
                backoff = next_backoff(backoff)
            finally:
                if connection is not None:
                    with contextlib.suppress(Exception):
                        connection.release()
        metrics.CONSUMER_CONNECTED.labels(self.service).set(0)
