"""The embedded transport's delayed retries: it has no TTL or dead-lettering, so a pump moves a
retried message back to its service's queue once its delay has passed (RabbitMQ does this itself
with TTL retry queues)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from kombu import Connection

from shared.config import Settings
from shared.logging import get_logger
from shared.messaging.broker import open_connection
from shared.messaging.consumer import DUE_HEADER
from shared.messaging.publisher import OutgoingMessage, Publisher, make_publisher
from shared.messaging.topology import DEFAULT_EXCHANGE, Topology

log = get_logger(__name__)


class DelayedRetryPump:
    """For the embedded transport, which has no TTL or dead-lettering: moves a retried message
    back to the service's queue when its delay has passed."""

    def __init__(
        self,
        settings: Settings,
        topology: Topology,
        connection_factory: Callable[[], Connection] | None = None,
    ) -> None:
        self.settings = settings
        self.topology = topology
        self._connection_factory = connection_factory or (lambda: open_connection(settings))

    def pump_once(self, connection: Connection, publisher: Publisher) -> int:
        moved = 0
        channel = connection.default_channel
        main_queue = self.topology.queue_name(self.settings.service)
        for queue in self.topology.retry_queues(self.settings.service):
            message = queue.bind(channel).get(no_ack=False)
            if message is None:
                continue
            headers = dict(message.headers or {})
            if float(headers.get(DUE_HEADER, 0)) > time.time():
                message.requeue()
                continue
            outcome = publisher.publish(
                [
                    OutgoingMessage(
                        key=1,
                        message_id=message.properties.get("message_id", ""),
                        exchange=DEFAULT_EXCHANGE,
                        routing_key=main_queue,
                        body=message.body,
                        headers=headers,
                    )
                ]
            )
            if outcome.confirmed:
                message.ack()
                moved += 1
            else:
                message.requeue()
        return moved

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            connection: Connection | None = None
            try:
                connection = self._connection_factory()
                publisher = make_publisher(connection, self.settings.confirm_timeout)
                while not stop.is_set():
                    if not self.pump_once(connection, publisher):
                        stop.wait(min(0.1, min(self.topology.retry_delays) / 4))
            except Exception as error:
                log.warning("retry_pump.broker_unavailable", error=repr(error))
                stop.wait(1.0)
            finally:
                if connection is not None:
                    connection.release()
