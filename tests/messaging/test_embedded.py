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
