"""Topology: declared idempotently, and each bound queue receives exactly what it should."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from shared.config import Settings
from shared.messaging.broker import open_connection
from shared.messaging.publisher import OutgoingMessage, make_publisher
from shared.messaging.topology import Topology, topic_matches
from tests.support.backends import Backend


@pytest.mark.parametrize(
    ("pattern", "key", "expected"),
    [
        ("intake.risk.flagged.v1", "intake.risk.flagged.v1", True),
        ("intake.risk.flagged.v1", "intake.risk.flagged.v2", False),
        ("intake.*.flagged.v1", "intake.risk.flagged.v1", True),
        ("intake.*", "intake.risk.flagged.v1", False),
        ("intake.#", "intake.risk.flagged.v1", True),
        ("intake.#", "intake", True),
        ("#.v1", "planning.plan.created.v1", True),
        ("a.#.z", "a.z", True),
        ("a.#.z", "a.b.c.z", True),
        ("a.#.z", "a.b.c", False),
    ],
)
def test_topic_patterns_match_like_rabbitmq(pattern: str, key: str, expected: bool) -> None:
    assert topic_matches(pattern, key) is expected


def test_each_bound_queue_receives_what_it_should(backend: Backend, data_dir: Path) -> None:
    suffix = uuid.uuid4().hex[:8]
    services = {
        f"alpha{suffix}": ["intake.risk.flagged.v1", "intake.client.#"],
        f"beta{suffix}": ["intake.#"],
    }
    topology = Topology.build(f"casehub.test.{suffix}", services, retry_delays=(0.5,))
    settings = Settings(
        service="probe", data_dir=data_dir, database_url="sqlite://", broker_url=backend.broker_url
    )
    keys = ["intake.risk.flagged.v1", "intake.client.registered.v1", "intake.consent.granted.v1"]
    connection = open_connection(settings)
    try:
        topology.declare(connection)
        topology.declare(connection)  # idempotent: same arguments, no PRECONDITION_FAILED
        outcome = make_publisher(connection, 5).publish(
            [
                OutgoingMessage(key, str(uuid.uuid4()), topology.exchange_name, key, b"{}")
                for key in [*keys, "planning.plan.created.v1"]
            ]
        )
        # RabbitMQ: the archive stream is bound with "#", so every event has a queue; embedded,
        # the archive is a folder, not a queue, and a key nobody subscribes to comes back.
        assert outcome.unroutable == ([] if backend.is_real else ["planning.plan.created.v1"])
        received: dict[str, list[str]] = {}
        channel = connection.channel()
        for service in services:
            queue = topology.service_queue(service).bind(channel)
            received[service] = []
            while (message := queue.get(no_ack=True)) is not None:
                received[service].append(message.delivery_info["routing_key"])
        if backend.is_real:
            for service in services:
                for name in topology.queue_names(service):
                    channel.queue_delete(name)
            channel.queue_delete(topology.archive_name)
            channel.exchange_delete(topology.exchange_name)
    finally:
        connection.release()
    assert sorted(received[f"alpha{suffix}"]) == sorted(keys[:2])
    assert sorted(received[f"beta{suffix}"]) == sorted(keys)


def test_queues_of_another_exchange_are_prefixed_so_two_platforms_never_share_a_queue() -> None:
    subscriptions = {"planning": ["intake.#"]}
    platform = Topology.build("casehub.events", subscriptions, retry_delays=(1.0,))
    staging = Topology.build("casehub.staging", subscriptions, retry_delays=(1.0,))
    assert platform.queue_names("planning") == [
        "planning.events",
        "planning.events.retry.1000ms",
        "planning.events.dlq",
    ]
    assert staging.queue_names("planning") == [
        "casehub.staging.planning.events",
        "casehub.staging.planning.events.retry.1000ms",
        "casehub.staging.planning.events.dlq",
    ]
    assert staging.service_queue("planning").queue_arguments["x-dead-letter-routing-key"] == (
        "casehub.staging.planning.events.dlq"
    )
