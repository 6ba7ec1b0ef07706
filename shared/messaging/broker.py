"""Broker connections: RabbitMQ through kombu's py-amqp transport, or the embedded filesystem one."""

from __future__ import annotations

from kombu import Connection

from shared.config import Settings
from shared.messaging.archive import max_age
from shared.messaging.embedded import Transport as EmbeddedTransport
from shared.messaging.embedded import embedded_transport_options

RECONNECT_BACKOFF_MAX = 4.0


def next_backoff(current: float) -> float:
    """Doubling waits between reconnection attempts, capped low: once the broker is back, a risk
    flag waiting in the outbox should move within seconds, and an attempt costs next to nothing."""
    return min(current * 2, RECONNECT_BACKOFF_MAX)


def broker_hosts(url: str) -> list[str]:
    """The URLs of a failover broker URL (``amqp://h1//;amqp://h2//``): kombu tries them in turn
    when a connection is opened, starting with the first."""
    return [part for part in url.split(";") if part.strip()]


def open_connection(settings: Settings, *, quick: bool = False) -> Connection:
    """A new, connected broker connection with bounded retries (kombu's default retries forever).

    With several hosts in the URL every one is tried before giving up; ``quick`` tries each once
    with a short timeout and no pause (a readiness probe must answer within a second or two)."""
    if settings.broker_url.startswith("filesystem:"):
        connection = Connection(
            transport=EmbeddedTransport,
            transport_options=embedded_transport_options(
                settings.broker_folder,
                settings.embedded_polling_interval,
                archive_max_age=max_age(settings.archive_max_age),
                archive_max_bytes=settings.archive_max_bytes,
            ),
        )
    elif settings.broker_url.startswith("memory:"):
        connection = Connection("memory://")
    else:
        connection = Connection(
            settings.broker_url,
            heartbeat=settings.broker_heartbeat,
            connect_timeout=(
                min(settings.broker_connect_timeout, 1.0)
                if quick
                else settings.broker_connect_timeout
            ),
            transport_options={
                "max_retries": 3,
                "interval_start": 0.2,
                "interval_step": 0.5,
                "interval_max": 2,
                "confirm_publish": False,
            },
        )
    hosts = len(broker_hosts(settings.broker_url))
    connection.ensure_connection(
        max_retries=hosts - 1 if quick else max(3, 2 * hosts - 1),
        interval_start=0.2,
        interval_step=0.5,
        interval_max=2,
    )
    return connection


def is_embedded(connection: Connection) -> bool:
    """Embedded transports have no TTL, dead-lettering or confirms; our code supplies them."""
    return connection.transport.driver_type in ("filesystem", "memory")


def broker_errors(connection: Connection) -> tuple[type[BaseException], ...]:
    return (*connection.connection_errors, *connection.channel_errors, OSError, TimeoutError)


def ping_broker(settings: Settings) -> None:
    """Raise if no broker host can be reached (reported by /readyz, each host tried once)."""
    connection = open_connection(settings, quick=True)
    try:
        connection.default_channel  # noqa: B018 - opening a channel proves the broker answers
    finally:
        connection.release()
