"""The relay: per-subject order, several relays without double publishing, broker returns."""

from __future__ import annotations

import threading
import time
from dataclasses import fields

from kombu import Connection, Exchange
from sqlalchemy import update

from shared.messaging.broker import open_connection
from shared.messaging.publisher import OutgoingMessage, make_publisher
from shared.messaging.relay import OutboxRelay, publishing_waves
from shared.messaging.topology import Topology
from tests.support.notes import effects, write_note
from tests.support.platform import TestPlatform, outbox_rows, wait_until


class _Row:
    def __init__(self, id: int, subject: str) -> None:
        self.id, self.subject = id, subject


def test_waves_send_each_subjects_events_in_order_one_per_wave() -> None:
    rows = [_Row(1, "a"), _Row(2, "a"), _Row(3, "b"), _Row(4, "a"), _Row(5, "c"), _Row(6, "b")]
    waves = publishing_waves(rows)  # type: ignore[arg-type]
    assert [[row.id for row in wave] for wave in waves] == [[1, 3, 5], [2, 6], [4]]


def _write_burst(platform: TestPlatform, subjects: int, per_subject: int) -> None:
    source = platform.source()
    for sequence in range(per_subject):
        with source.unit_of_work() as uow:
            for subject in range(subjects):
                write_note(uow, f"s{subject}-{sequence}", f"client/{subject}", "t", sequence)


def test_events_of_one_subject_arrive_in_the_order_they_were_written(
    platform: TestPlatform,
) -> None:
    _write_burst(platform, subjects=5, per_subject=30)
    sink = platform.sink()
    platform.start(platform.source(relay_batch_size=64).relay().run, "relay")
    platform.start(sink.consumer().run, "consumer")
    assert wait_until(lambda: len(effects(sink)) == 150, timeout=60)
    by_subject: dict[str, list[int]] = {}
    for effect in effects(sink):
        by_subject.setdefault(effect.subject, []).append(effect.sequence)
    assert all(sequences == list(range(30)) for sequences in by_subject.values())


def test_two_relays_on_postgresql_never_publish_an_event_twice(
    platform: TestPlatform, real_only: None
) -> None:
    _write_burst(platform, subjects=20, per_subject=25)
    source_a, source_b = platform.source(relay_batch_size=40), platform.source(relay_batch_size=40)
    relay_a, relay_b = source_a.relay(), source_b.relay()
    start = threading.Barrier(2)

    def all_published() -> bool:
        return all(row.published_at is not None for row in outbox_rows(source_a))

    sent: list[int] = []

    def drain(relay) -> None:  # type: ignore[no-untyped-def]
        """Poll like a running relay: a pass that finds every pending row locked by the other
        relay claims nothing, so stop only when the outbox is empty, not at the first 0."""
        start.wait()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            published = relay.publish_pending()
            sent.append(published)
            if published == 0:
                if all_published():
                    return
                time.sleep(0.01)

    threads = [threading.Thread(target=drain, args=(relay,)) for relay in (relay_a, relay_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    relay_a._drop_connection()
    relay_b._drop_connection()

    rows = outbox_rows(source_a)
    assert len(rows) == 500
    assert all(row.published_at is not None for row in rows)
    assert sum(sent) == 500  # each row published by one relay, once
    # Counted when claimed; a relay that counted a row the other one then took gives its count
    # back, so contention never inflates it: one send, one attempt.
    assert {row.attempts for row in rows} == {1}

    sink = platform.sink()
    platform.start(sink.consumer().run, "consumer")
    assert wait_until(lambda: len(effects(sink)) == 500, timeout=60)
    by_subject: dict[str, list[int]] = {}
    for effect in effects(sink):
        by_subject.setdefault(effect.subject, []).append(effect.sequence)
    assert all(sequences == list(range(25)) for sequences in by_subject.values())


class _ExchangeOnlyTopology(Topology):
    """The broker as an operator might leave it: the exchange exists, the sink's queue does not."""

    def declare(self, connection: Connection) -> None:
        self.exchange.declare(channel=connection.default_channel)


def test_publisher_reports_a_message_no_queue_receives_as_unroutable(
    platform: TestPlatform,
) -> None:
    connection = open_connection(platform.source().settings)
    try:
        Exchange("casehub.test.nobody." + platform.config.suffix, type="topic").declare(
            channel=connection.default_channel
        )
        publisher = make_publisher(connection, 5)
        outcome = publisher.publish(
            [
                OutgoingMessage(
                    1, "m1", "casehub.test.nobody." + platform.config.suffix, "x.y", b"{}"
                )
            ]
        )
        if platform.config.broker_url.startswith("amqp"):
            connection.default_channel.exchange_delete(
                "casehub.test.nobody." + platform.config.suffix
            )
    finally:
        connection.release()
    assert outcome.unroutable == [1] and outcome.confirmed == []


def test_unroutable_event_stays_in_outbox_until_its_queue_exists(
    platform: TestPlatform, real_only: None
) -> None:
    platform.remove_broker_objects()
    source = platform.source()
    with source.unit_of_work() as uow:
        write_note(uow, "n1", "client/1", "t")
    broken = _ExchangeOnlyTopology(
        **{f.name: getattr(platform.topology, f.name) for f in fields(Topology)}
    )
    relay = OutboxRelay(source.settings, source.database, source.spec.tables, broken, source.outbox)
    assert relay.publish_pending() == 0
    relay._drop_connection()
    [row] = outbox_rows(source)
    assert row.published_at is None and "unroutable" in row.last_error

    sink = platform.sink()
    platform.start(source.relay().run, "relay")  # declares the whole topology on connect
    platform.start(sink.consumer().run, "consumer")
    assert wait_until(lambda: len(effects(sink)) == 1)
    assert outbox_rows(source)[0].published_at is not None


def test_outbox_rows_of_a_dead_relay_are_published_by_the_next(platform: TestPlatform) -> None:
    source = platform.source()
    with source.unit_of_work() as uow:
        write_note(uow, "n1", "client/1", "t")
    with source.database.session() as session, session.begin():
        session.execute(
            update(source.spec.tables.outbox).values(attempts=3, last_error="relay died")
        )
    sink = platform.sink()
    platform.start(source.relay().run, "relay")
    platform.start(sink.consumer().run, "consumer")
    assert wait_until(lambda: len(effects(sink)) == 1)
    assert outbox_rows(source)[0].attempts == 4


class _RelayKilled(BaseException):
    """The relay process dying: nothing after it runs, its open transaction rolls back."""


def test_a_relay_killed_mid_batch_leaves_a_second_attempt_on_what_the_next_resends(
    platform: TestPlatform,
) -> None:
    source = platform.source()
    with source.unit_of_work() as uow:
        for number in range(3):
            write_note(uow, f"n{number}", f"client/{number}", "t")
    dying = source.relay()
    publisher = dying._ensure_publisher()
    publish = publisher.publish

    def publish_then_die(messages):  # type: ignore[no-untyped-def]
        publish(messages)  # the broker has them all...
        raise _RelayKilled  # ...and the relay dies before marking them sent

    publisher.publish = publish_then_die  # type: ignore[method-assign]
    try:
        dying.publish_pending()
    except _RelayKilled:
        pass
    finally:
        dying._drop_connection()
    assert [row.published_at for row in outbox_rows(source)] == [None] * 3

    sink = platform.sink()
    platform.start(source.relay().run, "relay")
    platform.start(sink.consumer().run, "consumer")
    assert wait_until(lambda: all(row.published_at for row in outbox_rows(source)))
    assert [row.attempts for row in outbox_rows(source)] == [2, 2, 2]
    assert wait_until(lambda: len(effects(sink)) == 3)
    assert len(effects(sink)) == 3  # the copies were skipped by the inbox
