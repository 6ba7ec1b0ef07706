"""Publisher confirms: our pipelined batches vs. waiting for each confirm (what most code does).

    CASEHUB_BENCH_BROKER_URL=amqp://guest:guest@127.0.0.1:5672// python -m bench.publish_confirms

Both publish the same persistent, mandatory messages to the same quorum queue on the same broker
in the same run; the figure that matters is the ratio, not the absolute rate.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid

from kombu import Connection, Exchange, Producer, Queue

from shared.messaging.publisher import ConfirmingPublisher, OutgoingMessage

BODY = b'{"specversion":"1.0","type":"casehub.bench.event.sent.v1","data":{"n":1}}'


def one_confirm_at_a_time(url: str, exchange: Exchange, count: int) -> float:
    with Connection(url, transport_options={"confirm_publish": True}) as connection:
        producer = Producer(connection.channel(), exchange=exchange)
        started = time.perf_counter()
        for _ in range(count):
            producer.publish(
                BODY,
                routing_key="bench.event",
                mandatory=True,
                delivery_mode=2,
                content_type="application/json",
                content_encoding="utf-8",
            )
        return count / (time.perf_counter() - started)


def pipelined(url: str, exchange: Exchange, count: int, batch: int) -> float:
    with Connection(url) as connection:
        publisher = ConfirmingPublisher(connection, confirm_timeout=30)
        started = time.perf_counter()
        for first in range(0, count, batch):
            messages = [
                OutgoingMessage(n, str(uuid.uuid4()), exchange.name, "bench.event", BODY)
                for n in range(first, min(first + batch, count))
            ]
            outcome = publisher.publish(messages)
            assert len(outcome.confirmed) == len(messages), outcome.failed
        rate = count / (time.perf_counter() - started)
        publisher.close()
        return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    url = os.environ.get("CASEHUB_BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
    name = f"casehub.bench.{uuid.uuid4().hex[:8]}"
    exchange = Exchange(name, type="topic", durable=False, auto_delete=False)
    queue = Queue(
        name,
        exchange=exchange,
        routing_key="bench.#",
        durable=True,
        queue_arguments={"x-queue-type": "quorum"},
    )
    with Connection(url) as connection:
        queue.declare(channel=connection.default_channel)
    try:
        baseline = one_confirm_at_a_time(url, exchange, args.count)
        ours = pipelined(url, exchange, args.count, args.batch)
    finally:
        with Connection(url) as connection:
            channel = connection.default_channel
            channel.queue_delete(name)
            channel.exchange_delete(name)
    print(f"{'publisher':<34}{'msg/s':>10}{'ratio':>8}")
    print(f"{'one confirm at a time (baseline)':<34}{baseline:>10.0f}{1.0:>8.2f}")
    print(f"{'pipelined batches of ' + str(args.batch):<34}{ours:>10.0f}{ours / baseline:>8.2f}")


if __name__ == "__main__":
    main()
