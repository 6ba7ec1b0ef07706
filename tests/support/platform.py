"""A test platform: a source and a sink service on one backend, with isolated broker names."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from shared.config import Settings
from shared.messaging.broker import open_connection
from shared.messaging.topology import Topology
from shared.service import ServiceRuntime
from tests.support.notes import NOTE_ROUTING_KEY, sink_spec, source_spec

RETRY_DELAYS = (0.2, 0.4)


@dataclass(frozen=True)
class PlatformConfig:
    """Everything another process needs to join the same test platform."""

    suffix: str
    data_dir: str
    broker_url: str
    source_database_url: str
    sink_database_url: str

    @property
    def exchange(self) -> str:
        return f"casehub.test.{self.suffix}"

    @property
    def source_name(self) -> str:
        return f"source{self.suffix}"

    @property
    def sink_name(self) -> str:
        return f"sink{self.suffix}"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str) -> PlatformConfig:
        return cls(**json.loads(raw))


@dataclass
class TestPlatform:
    config: PlatformConfig
    threads: list[threading.Thread] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    __test__ = False  # not a test class

    @property
    def topology(self) -> Topology:
        return Topology.build(
            self.config.exchange, {self.config.sink_name: [NOTE_ROUTING_KEY]}, RETRY_DELAYS
        )

    def settings(self, service: str, database_url: str, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "service": service,
            "data_dir": Path(self.config.data_dir),
            "database_url": database_url,
            "broker_url": self.config.broker_url,
            "exchange": self.config.exchange,
            "retry_delays": RETRY_DELAYS,
            "relay_poll_interval": 0.5,
            "confirm_timeout": 5.0,
            "broker_connect_timeout": 2.0,
            "broker_heartbeat": 10,
            "embedded_polling_interval": 0.02,
            "prefetch": 20,
        }
        values.update(overrides)
        return Settings(**values)

    def source(self, **overrides: Any) -> ServiceRuntime:
        name = self.config.source_name
        settings = self.settings(name, self.config.source_database_url, **overrides)
        return ServiceRuntime(source_spec(name), settings, self.topology)

    def sink(self, *, batched: bool = False, **overrides: Any) -> ServiceRuntime:
        name = self.config.sink_name
        settings = self.settings(name, self.config.sink_database_url, **overrides)
        return ServiceRuntime(sink_spec(name, batched=batched), settings, self.topology)

    def start(self, run: Callable[[threading.Event], None], name: str) -> threading.Thread:
        thread = threading.Thread(target=run, args=(self.stop,), name=name, daemon=True)
        thread.start()
        self.threads.append(thread)
        return thread

    def shutdown(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)
        self.threads.clear()
        self.stop = threading.Event()

    def declare(self) -> None:
        connection = open_connection(self.source().settings)
        try:
            self.topology.declare(connection)
        finally:
            connection.release()

    def remove_broker_objects(self) -> None:
        """Delete this test's queues and exchange from RabbitMQ (the embedded broker is in tmp)."""
        if self.config.broker_url.startswith(("filesystem", "memory")):
            return
        connection = open_connection(self.source().settings)
        try:
            channel = connection.channel()
            sink = self.config.sink_name
            for queue in self.topology.queue_names(sink):
                channel.queue_delete(queue)
            channel.queue_delete(self.topology.archive_name)
            channel.exchange_delete(self.config.exchange)
        finally:
            connection.release()


def create_platform(backend: Any, data_dir: Path) -> TestPlatform:
    suffix = uuid.uuid4().hex[:8]
    config = PlatformConfig(
        suffix=suffix,
        data_dir=str(data_dir),
        broker_url=backend.broker_url,
        source_database_url=backend.new_database(f"source{suffix}", data_dir),
        sink_database_url=backend.new_database(f"sink{suffix}", data_dir),
    )
    platform = TestPlatform(config)
    platform.source().create_schema()
    platform.sink().create_schema()
    platform.declare()
    return platform


def wait_until(
    predicate: Callable[[], bool], timeout: float = 20.0, interval: float = 0.05
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def waiting_on_a_lock(runtime: ServiceRuntime) -> bool:
    """Whether a session of the service's PostgreSQL database waits on a lock (a second worker
    blocked behind the first one's open transaction)."""
    with runtime.database.engine.connect() as connection:
        return bool(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        )


def outbox_rows(runtime: ServiceRuntime) -> list[Any]:
    outbox = runtime.spec.tables.outbox
    with runtime.database.read_session() as session:
        return list(session.execute(select(outbox).order_by(outbox.c.id)).all())


def inbox_ids(runtime: ServiceRuntime) -> set[str]:
    inbox = runtime.spec.tables.inbox
    with runtime.database.read_session() as session:
        return set(session.scalars(select(inbox.c.event_id)))
