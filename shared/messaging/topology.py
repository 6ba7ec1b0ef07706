"""The whole broker topology in one place; every process declares all of it at start."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from kombu import Connection, Exchange, Queue, binding

from shared.config import (
    DEFAULT_ARCHIVE_MAX_AGE,
    DEFAULT_ARCHIVE_MAX_BYTES,
    PLATFORM_EXCHANGE,
)

DEFAULT_EXCHANGE = ""
#: Transports without streams: there the publishing side writes the archive folder instead.
_NO_STREAMS = ("filesystem", "memory")


def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: ``*`` is exactly one word, ``#`` is zero or more words."""
    return _match(tuple(pattern.split(".")), tuple(routing_key.split(".")))


@cache
def _match(pattern: tuple[str, ...], words: tuple[str, ...]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[skip:]) for skip in range(len(words) + 1))
    if not words:
        return False
    return (head in ("*", words[0])) and _match(rest, words[1:])


@dataclass(frozen=True)
class Topology:
    """Exchange, one quorum queue per consuming service, its retry queues and its DLQ, and the
    archive stream bound to every routing key."""

    exchange_name: str
    subscriptions: Mapping[str, frozenset[str]]
    retry_delays: tuple[float, ...] = (1.0, 10.0, 60.0)
    delivery_limit: int = 20
    #: Queue names are global on a vhost: queues of any exchange but the platform's carry its
    #: name, so two platforms (staging beside production, parallel test or benchmark runs) never
    #: consume each other's events. An explicit prefix (CASEHUB_QUEUE_PREFIX) overrides that.
    queue_prefix: str = ""
    #: Retention of the archive stream, whichever is reached first (RabbitMQ removes whole
    #: segments): ``x-max-age`` (``7Y``, ``400D``…) and ``x-max-length-bytes``.
    archive_max_age: str = DEFAULT_ARCHIVE_MAX_AGE
    archive_max_bytes: int = DEFAULT_ARCHIVE_MAX_BYTES

    @classmethod
    def build(
        cls,
        exchange_name: str,
        subscriptions: Mapping[str, Iterable[str]],
        retry_delays: Iterable[float] = (1.0, 10.0, 60.0),
        delivery_limit: int = 20,
        queue_prefix: str | None = None,
        archive_max_age: str = DEFAULT_ARCHIVE_MAX_AGE,
        archive_max_bytes: int = DEFAULT_ARCHIVE_MAX_BYTES,
    ) -> Topology:
        if queue_prefix is None:
            queue_prefix = "" if exchange_name == PLATFORM_EXCHANGE else f"{exchange_name}."
        return cls(
            exchange_name=exchange_name,
            subscriptions={name: frozenset(keys) for name, keys in subscriptions.items()},
            retry_delays=tuple(retry_delays),
            delivery_limit=delivery_limit,
            queue_prefix=queue_prefix,
            archive_max_age=archive_max_age,
            archive_max_bytes=archive_max_bytes,
        )

    @property
    def exchange(self) -> Exchange:
        return Exchange(self.exchange_name, type="topic", durable=True)

    def queue_name(self, service: str) -> str:
        return f"{self.queue_prefix}{service}.events"

    def dlq_name(self, service: str) -> str:
        return f"{self.queue_name(service)}.dlq"

    def retry_queue_names(self, service: str) -> list[str]:
        return [
            f"{self.queue_name(service)}.retry.{round(delay * 1000)}ms"
            for delay in self.retry_delays
        ]

    def queue_names(self, service: str) -> list[str]:
        """Every queue this topology declares for one consuming service."""
        return [
            self.queue_name(service),
            *self.retry_queue_names(service),
            self.dlq_name(service),
        ]

    @property
    def archive_name(self) -> str:
        """The stream that keeps every event published on the exchange."""
        return f"{self.queue_prefix}events.archive"

    def archive_queue(self) -> Queue:
        """Bound with ``#``: every event, whoever subscribes to it. Its arguments cannot change
        once declared (PRECONDITION_FAILED): change retention with a policy (docs/operations.md)."""
        return Queue(
            self.archive_name,
            exchange=self.exchange,
            routing_key="#",
            durable=True,
            queue_arguments={
                "x-queue-type": "stream",
                "x-max-age": self.archive_max_age,
                "x-max-length-bytes": self.archive_max_bytes,
            },
        )

    def expects_route(self, routing_key: str) -> bool:
        """Whether some service subscribes to this key (else a broker return is expected)."""
        return any(
            topic_matches(pattern, routing_key)
            for patterns in self.subscriptions.values()
            for pattern in patterns
        )

    def subscribers(self, routing_key: str) -> list[str]:
        return sorted(
            service
            for service, patterns in self.subscriptions.items()
            if any(topic_matches(pattern, routing_key) for pattern in patterns)
        )

    def service_queue(self, service: str) -> Queue:
        keys = sorted(self.subscriptions.get(service, ()))
        return Queue(
            self.queue_name(service),
            bindings=[binding(self.exchange, routing_key=key) for key in keys],
            durable=True,
            queue_arguments={
                "x-queue-type": "quorum",
                "x-dead-letter-exchange": DEFAULT_EXCHANGE,
                "x-dead-letter-routing-key": self.dlq_name(service),
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
                "x-delivery-limit": self.delivery_limit,
            },
        )

    def retry_queues(self, service: str) -> list[Queue]:
        """Delayed retries: each holds a message for its TTL, then dead-letters it back."""
        return [
            Queue(
                name,
                exchange=None,
                durable=True,
                queue_arguments={
                    "x-queue-type": "quorum",
                    "x-message-ttl": round(delay * 1000),
                    "x-dead-letter-exchange": DEFAULT_EXCHANGE,
                    "x-dead-letter-routing-key": self.queue_name(service),
                    "x-dead-letter-strategy": "at-least-once",
                    "x-overflow": "reject-publish",
                },
            )
            for name, delay in zip(self.retry_queue_names(service), self.retry_delays, strict=True)
        ]

    def dead_letter_queue(self, service: str) -> Queue:
        return Queue(
            self.dlq_name(service),
            exchange=None,
            durable=True,
            queue_arguments={"x-queue-type": "quorum"},
        )

    def declare(self, connection: Connection) -> None:
        """Declare everything idempotently (same arguments every time, or the broker refuses)."""
        channel = connection.default_channel
        self.exchange.declare(channel=channel)
        for service in sorted(self.subscriptions):
            for queue in [
                self.service_queue(service),
                *self.retry_queues(service),
                self.dead_letter_queue(service),
            ]:
                queue.declare(channel=channel)
        if connection.transport.driver_type not in _NO_STREAMS:
            self.archive_queue().declare(channel=channel)


def rabbitmq_definitions(topology: Topology, vhost: str = "/") -> dict[str, Any]:
    """The same topology as a RabbitMQ definitions file (loaded at broker start in deployments)."""
    queues, bindings = [], []
    for service in sorted(topology.subscriptions):
        for queue in [
            topology.service_queue(service),
            *topology.retry_queues(service),
            topology.dead_letter_queue(service),
        ]:
            queues.append(
                {
                    "name": queue.name,
                    "vhost": vhost,
                    "durable": True,
                    "auto_delete": False,
                    "arguments": dict(queue.queue_arguments or {}),
                }
            )
        for key in sorted(topology.subscriptions[service]):
            bindings.append(
                {
                    "source": topology.exchange_name,
                    "vhost": vhost,
                    "destination": topology.queue_name(service),
                    "destination_type": "queue",
                    "routing_key": key,
                    "arguments": {},
                }
            )
    archive = topology.archive_queue()
    queues.append(
        {
            "name": archive.name,
            "vhost": vhost,
            "durable": True,
            "auto_delete": False,
            "arguments": dict(archive.queue_arguments or {}),
        }
    )
    bindings.append(
        {
            "source": topology.exchange_name,
            "vhost": vhost,
            "destination": archive.name,
            "destination_type": "queue",
            "routing_key": "#",
            "arguments": {},
        }
    )
    return {
        "vhosts": [{"name": vhost}],
        "exchanges": [
            {
                "name": topology.exchange_name,
                "vhost": vhost,
                "type": "topic",
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            }
        ],
        "queues": queues,
        "bindings": bindings,
    }
