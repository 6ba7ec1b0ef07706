from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from services.reporting.models import READ_MODEL
from shared.contracts import Event
from shared.messaging.broker import open_connection
from shared.messaging.publisher import OutgoingMessage, make_publisher
from shared.service import ServiceRuntime
from tests.support.backends import Backend
from tests.support.platform import wait_until
from tests.support.service_api import ServiceApi


@dataclass
class ReportingApi(ServiceApi):
    default_caller: tuple[str, ...] = ("admin-1", "admin")

    def deliver(self, events: Iterable[Event]) -> None:
        """Each event through the service's own handler, as its consumer would run it."""
        with self.runtime.unit_of_work() as uow:
            for event in events:
                self.runtime.spec.handlers[event.routing_key](event, uow)

    def tables(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every read-model row, sorted, without surrogate keys: what a rebuild must reproduce."""
        snapshot = {}
        with self.runtime.database.read_session() as session:
            for model in READ_MODEL:
                columns = [c for c in model.__table__.columns if c.name != "id"]
                rows = session.execute(select(*columns)).all()
                snapshot[model.__tablename__] = sorted(
                    (tuple(row) for row in rows), key=lambda row: json.dumps(row, default=str)
                )
        return snapshot

    def handled(self) -> int:
        """Events recorded in the inbox: each handled once, by the consumer or a replay."""
        inbox = self.runtime.spec.tables.inbox
        with self.runtime.database.read_session() as session:
            return session.scalar(select(func.count()).select_from(inbox)) or 0


@pytest.fixture
def reporting(backend: Backend, data_dir: Path) -> Iterator[ReportingApi]:
    """The service on its own exchange (queue names carry it), so parallel runs never meet."""
    exchange = f"casehub.test.reporting.{uuid.uuid4().hex[:8]}"
    api = ReportingApi.start(
        "reporting",
        backend,
        data_dir,
        exchange=exchange,
        embedded_polling_interval=0.02,
        retry_delays=(0.2, 0.4),
    )
    yield api
    remove_queues(api.runtime)
    api.runtime.database.dispose()


def remove_queues(runtime: ServiceRuntime) -> None:
    if runtime.settings.uses_embedded_broker:
        return
    connection = open_connection(runtime.settings)
    try:
        channel = connection.channel()
        for service in runtime.topology.subscriptions:
            for queue in runtime.topology.queue_names(service):
                channel.queue_delete(queue)
        channel.queue_delete(runtime.topology.archive_name)
        channel.exchange_delete(runtime.settings.exchange)
    finally:
        connection.release()


def publish(runtime: ServiceRuntime, events: Iterable[Event]) -> None:
    """As the other services' relays would: each event on the exchange under its routing key."""
    connection = open_connection(runtime.settings)
    try:
        runtime.topology.declare(connection)
        publisher = make_publisher(connection, 10.0)
        messages = [
            OutgoingMessage(
                key=index,
                message_id=event.id,
                exchange=runtime.settings.exchange,
                routing_key=event.routing_key,
                body=json.dumps(event.to_cloudevent(), default=str).encode(),
            )
            for index, event in enumerate(events)
        ]
        outcome = publisher.publish(messages)
        assert len(outcome.confirmed) == len(messages), outcome
        publisher.close()
    finally:
        connection.release()


def consume_until(runtime: ServiceRuntime, handled: int, api: ReportingApi) -> None:
    """Run the service's consumer until its inbox holds ``handled`` events."""
    stop = threading.Event()
    thread = threading.Thread(target=runtime.consumer().run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: api.handled() >= handled, timeout=60), api.handled()
    finally:
        stop.set()
        thread.join(timeout=15)
