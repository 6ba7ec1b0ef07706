"""The consumer's batch path: a subscription's batch hook gets a batch's new events together, and
duplicates, a failing event and redeliveries keep the guarantees of one event at a time.

Each test hands the consumer one batch of real messages taken from the sink's queue, so what is
in the batch is known rather than left to the timing of a running consumer."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from kombu import Connection
from kombu.message import Message
from sqlalchemy import update

from shared.messaging.broker import open_connection
from shared.messaging.publisher import make_publisher
from shared.service import ServiceRuntime
from tests.support.notes import FAULTS, effects, write_note
from tests.support.platform import TestPlatform, inbox_ids, wait_until


@pytest.fixture
def sink(platform: TestPlatform) -> ServiceRuntime:
    return platform.sink(batched=True)


@pytest.fixture
def connection(sink: ServiceRuntime) -> Iterator[Connection]:
    opened = open_connection(sink.settings)
    yield opened
    opened.release()


def _write_and_send(platform: TestPlatform, count: int, first: int = 0) -> list[str]:
    """Notes n<first>.. written in their own transactions, then relayed to the sink's queue."""
    source = platform.source()
    ids = []
    for number in range(first, first + count):
        with source.unit_of_work() as uow:
            ids.append(write_note(uow, f"n{number}", f"client/{number}", "text", number).id)
    assert source.relay().publish_pending() == count
    return ids


def _send_again(platform: TestPlatform) -> int:
    """The relay sends every row once more, as after a crash between publish and mark-sent."""
    source = platform.source()
    outbox = source.spec.tables.outbox
    with source.database.session() as session, session.begin():
        session.execute(update(outbox).values(published_at=None))
    return source.relay().publish_pending()


def _take(platform: TestPlatform, connection: Connection, count: int) -> list[Message]:
    queue = platform.topology.service_queue(platform.config.sink_name).bind(
        connection.default_channel
    )
    taken: list[Message] = []

    def more() -> bool:
        message = queue.get(no_ack=False)
        if message is not None:
            taken.append(message)
        return len(taken) == count

    assert wait_until(more, interval=0.01)
    return taken


def _handle(sink: ServiceRuntime, connection: Connection, messages: list[Message]) -> None:
    publisher = make_publisher(connection, sink.settings.confirm_timeout)
    try:
        sink.consumer().process(messages, publisher, threading.Event())
    finally:
        publisher.close()


def _nothing_left(platform: TestPlatform, sink: ServiceRuntime) -> bool:
    """On a fresh connection (an unacknowledged message would be back): the queue is empty."""
    fresh = open_connection(sink.settings)
    try:
        queue = platform.topology.service_queue(platform.config.sink_name).bind(
            fresh.default_channel
        )
        return queue.get(no_ack=False) is None
    finally:
        fresh.release()


def test_a_batch_goes_to_the_hook_once_and_a_repeated_event_in_it_is_handled_once(
    platform: TestPlatform, sink: ServiceRuntime, connection: Connection
) -> None:
    ids = _write_and_send(platform, 3)
    assert _send_again(platform) == 3  # the same three events again, in the same batch
    _handle(sink, connection, _take(platform, connection, 6))

    assert FAULTS.batches == [["n0", "n1", "n2"]]
    assert not FAULTS.calls  # the one-event handler was not needed
    assert [effect.event_id for effect in effects(sink)] == ids
    assert inbox_ids(sink) == set(ids)
    assert _nothing_left(platform, sink)  # all six acknowledged


def test_one_failing_event_in_a_batch_fails_alone_and_its_mates_are_handled_once(
    platform: TestPlatform, sink: ServiceRuntime, connection: Connection
) -> None:
    FAULTS.failing_note_ids.add("n1")
    ids = _write_and_send(platform, 3)
    _handle(sink, connection, _take(platform, connection, 3))

    assert FAULTS.batches == [["n0", "n1", "n2"]]  # tried together, rolled back
    assert FAULTS.calls == {"n0": 1, "n1": 1, "n2": 1}  # then one at a time
    assert [effect.note_id for effect in effects(sink)] == ["n0", "n2"]
    assert inbox_ids(sink) == {ids[0], ids[2]}

    FAULTS.failing_note_ids.clear()  # fixed: its retry is handled, once
    if sink.settings.uses_embedded_broker:  # no TTL there: the pump moves a due retry back
        publisher = make_publisher(connection, sink.settings.confirm_timeout)
        assert wait_until(lambda: sink.retry_pump().pump_once(connection, publisher) == 1)
        publisher.close()
    _handle(sink, connection, _take(platform, connection, 1))
    assert sorted(effect.note_id for effect in effects(sink)) == ["n0", "n1", "n2"]
    assert inbox_ids(sink) == set(ids)
    assert FAULTS.calls == {"n0": 1, "n1": 2, "n2": 1}


def test_a_redelivered_batch_skips_what_was_handled_and_hooks_only_the_new_events(
    platform: TestPlatform, sink: ServiceRuntime, connection: Connection
) -> None:
    first = _write_and_send(platform, 2)
    _handle(sink, connection, _take(platform, connection, 2))
    later = _write_and_send(platform, 2, first=2)
    assert _send_again(platform) == 4  # a relay crash re-sends all four after the two new ones
    _handle(sink, connection, _take(platform, connection, 6))

    assert FAULTS.batches == [["n0", "n1"], ["n2", "n3"]]
    assert [effect.event_id for effect in effects(sink)] == first + later
    assert inbox_ids(sink) == set(first + later)
    assert _nothing_left(platform, sink)


def test_a_write_the_database_refuses_in_a_batch_redoes_it_one_by_one(
    platform: TestPlatform, sink: ServiceRuntime, connection: Connection
) -> None:
    FAULTS.refused_note_ids.add("n0")
    ids = _write_and_send(platform, 3)
    _handle(sink, connection, _take(platform, connection, 3))

    assert FAULTS.batches == [["n0", "n1", "n2"]]
    assert FAULTS.calls == {"n0": 1, "n1": 1, "n2": 1}
    assert [effect.event_id for effect in effects(sink)] == ids[1:]
    assert inbox_ids(sink) == set(ids[1:])  # nothing half-recorded for the refused one
