"""The embedded transport's own guarantees (kombu's filesystem transport lacks them)."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

from kombu import Connection, Exchange, Queue

from shared.messaging.embedded import Transport, embedded_transport_options


def _declare_concurrently(transport: type, folder: Path, queues: int) -> list[str]:
    options = embedded_transport_options(folder, 0.01)
    exchange = Exchange(f"casehub.race.{uuid.uuid4().hex[:6]}", type="topic")
    start = threading.Barrier(queues)

    def declare(number: int) -> None:
        with Connection(transport=transport, transport_options=options) as connection:
            start.wait()
            Queue(f"q{number}", exchange=exchange, routing_key=f"k{number}").declare(
                channel=connection.channel()
            )

    threads = [threading.Thread(target=declare, args=(n,)) for n in range(queues)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Connection(transport=transport, transport_options=options) as connection:
        return sorted(binding.queue for binding in connection.channel().get_table(exchange.name))


def test_concurrent_declarations_never_lose_a_binding(tmp_path: Path) -> None:
    """kombu's stock filesystem transport loses bindings (and raises) in this very race."""
    for attempt in range(5):
        bound = _declare_concurrently(Transport, tmp_path / str(attempt), 12)
        assert bound == sorted(f"q{n}" for n in range(12))


def test_messages_published_in_the_same_millisecond_are_read_in_order(tmp_path: Path) -> None:
    options = embedded_transport_options(tmp_path, 0.01)
    with Connection(transport=Transport, transport_options=options) as connection:
        queue = Queue("ordered", exchange=Exchange("", type="direct"), routing_key="ordered")
        channel = connection.channel()
        queue.declare(channel=channel)
        producer = connection.Producer(channel)
        for number in range(200):  # far more than one per millisecond
            producer.publish({"n": number}, routing_key="ordered", serializer="json")
        received = []
        while (message := queue.bind(channel).get(no_ack=True)) is not None:
            received.append(message.decode()["n"])
    assert received == list(range(200))
