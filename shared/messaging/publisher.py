"""Publishing with publisher confirms, pipelined: send a whole batch, then wait for its acks.

Waiting for each confirm caps one publisher at about 1.8k msg/s here; pipelining the batch keeps
every guarantee (a row is marked sent only after its own ack) at over ten times that rate.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from amqp.basic_message import Message as AmqpMessage
from kombu import Connection, Exchange, Producer

from shared.messaging.archive import FolderArchive, archive_folder
from shared.messaging.broker import is_embedded

CONTENT_TYPE = "application/cloudevents+json"


@dataclass(frozen=True)
class OutgoingMessage:
    key: Any
    message_id: str
    exchange: str
    routing_key: str
    body: bytes
    headers: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class PublishOutcome:
    confirmed: list[Any] = field(default_factory=list)
    unroutable: list[Any] = field(default_factory=list)
    failed: dict[Any, str] = field(default_factory=dict)


class Publisher(Protocol):
    def publish(self, messages: Sequence[OutgoingMessage]) -> PublishOutcome: ...

    def close(self) -> None: ...


class ConfirmingPublisher:
    """RabbitMQ: a confirm-mode channel, ``mandatory`` so an unroutable message comes back."""

    def __init__(self, connection: Connection, confirm_timeout: float) -> None:
        self._connection = connection
        self._confirm_timeout = confirm_timeout
        self._channel: Any = None
        self._next_tag = 1
        self._in_flight: dict[int, OutgoingMessage] = {}
        self._tag_by_message_id: dict[str, int] = {}
        self._acked: set[int] = set()
        self._nacked: set[int] = set()
        self._returned: set[int] = set()

    def _open_channel(self) -> Any:
        if self._channel is None or not self._channel.is_open:
            channel = self._connection.channel()
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            channel.events["basic_return"].add(self._on_return)
            self._channel = channel
            self._next_tag = 1
        return self._channel

    def _settle(self, delivery_tag: int, multiple: bool, into: set[int]) -> None:
        tags = (
            [tag for tag in self._in_flight if tag <= delivery_tag] if multiple else [delivery_tag]
        )
        for tag in tags:
            if tag in self._in_flight:
                into.add(tag)

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self._settle(delivery_tag, multiple, self._acked)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self._settle(delivery_tag, multiple, self._nacked)

    def _on_return(self, _exc: Exception, _exchange: str, _routing_key: str, message: Any) -> None:
        tag = self._tag_by_message_id.get(message.properties.get("message_id"))
        if tag is not None:
            self._returned.add(tag)

    def publish(self, messages: Sequence[OutgoingMessage]) -> PublishOutcome:
        channel = self._open_channel()
        self._in_flight.clear()
        self._tag_by_message_id.clear()
        self._acked.clear()
        self._nacked.clear()
        self._returned.clear()
        for message in messages:
            tag = self._next_tag
            self._next_tag += 1
            self._in_flight[tag] = message
            self._tag_by_message_id[message.message_id] = tag
            channel.basic_publish(
                AmqpMessage(
                    message.body,
                    content_type=CONTENT_TYPE,
                    content_encoding="utf-8",
                    delivery_mode=2,
                    message_id=message.message_id,
                    application_headers=dict(message.headers),
                ),
                exchange=message.exchange,
                routing_key=message.routing_key,
                mandatory=True,
            )
        deadline = time.monotonic() + self._confirm_timeout
        while len(self._acked) + len(self._nacked) < len(self._in_flight):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                self._connection.drain_events(timeout=min(remaining, 1.0))
            except TimeoutError:
                continue
        outcome = PublishOutcome()
        for tag, message in self._in_flight.items():
            if tag in self._returned:
                outcome.unroutable.append(message.key)
            elif tag in self._acked and tag not in self._nacked:
                outcome.confirmed.append(message.key)
            elif tag in self._nacked:
                outcome.failed[message.key] = "nacked by the broker"
            else:
                outcome.failed[message.key] = "no confirm before the timeout"
        if len(self._acked) + len(self._nacked) < len(self._in_flight):
            self.close()  # late confirms would be attributed to the wrong batch
        return outcome

    def close(self) -> None:
        if self._channel is not None:
            with contextlib.suppress(Exception):
                self._channel.close()
            self._channel = None


class EmbeddedPublisher:
    """filesystem:// has no confirms: a message is published once its file is written.

    It would also silently divert an unroutable message, so routing is checked first. Events
    for the exchange are appended to its archive folder first, as RabbitMQ routes them to the
    archive stream: publishing here is the broker's routing, done by the publishing process, so
    this is the one place that sees every event on its way to every queue.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._channel = connection.channel()
        self._producers: dict[str, Producer] = {}
        self._archives: dict[str, FolderArchive] = {}

    def _archive(self, exchange: str) -> FolderArchive | None:
        options = self._connection.transport_options or {}
        if not exchange or not options.get("archive_root"):
            return None  # retries and dead letters go to a queue directly: not new events
        if exchange not in self._archives:
            self._archives[exchange] = FolderArchive(
                archive_folder(Path(options["archive_root"]), exchange),
                max_age=options.get("archive_max_age"),
                max_bytes=options.get("archive_max_bytes"),
            )
        return self._archives[exchange]

    def _producer(self, exchange: str) -> Producer:
        if exchange not in self._producers:
            target = Exchange(exchange, type="topic", durable=True) if exchange else Exchange("")
            self._producers[exchange] = Producer(self._channel, exchange=target)
            if exchange:
                target.declare(channel=self._channel)
        return self._producers[exchange]

    def _routable(self, exchange: str, routing_key: str) -> bool:
        if not exchange:
            return True
        table = self._channel.get_table(exchange)
        return bool(self._channel.typeof(exchange).lookup(table, exchange, routing_key, None))

    def publish(self, messages: Sequence[OutgoingMessage]) -> PublishOutcome:
        outcome = PublishOutcome()
        routable: list[OutgoingMessage] = []
        for message in messages:
            self._producer(message.exchange)
            if self._routable(message.exchange, message.routing_key):
                routable.append(message)
            else:
                outcome.unroutable.append(message.key)
        by_exchange: dict[str, list[OutgoingMessage]] = {}
        for message in routable:
            by_exchange.setdefault(message.exchange, []).append(message)
        for exchange, group in by_exchange.items():
            archive = self._archive(exchange)
            if archive is not None:
                archive.append([(message.routing_key, message.body) for message in group])
        for message in routable:
            producer = self._producer(message.exchange)
            producer.publish(
                message.body,
                routing_key=message.routing_key,
                content_type=CONTENT_TYPE,
                content_encoding="utf-8",
                headers=dict(message.headers),
                message_id=message.message_id,
                delivery_mode=2,
            )
            outcome.confirmed.append(message.key)
        return outcome

    def close(self) -> None:
        self._channel.close()


def make_publisher(connection: Connection, confirm_timeout: float) -> Publisher:
    if is_embedded(connection):
        return EmbeddedPublisher(connection)
    return ConfirmingPublisher(connection, confirm_timeout)


def encode(envelope: Mapping[str, Any]) -> bytes:
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode()
