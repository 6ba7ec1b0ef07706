"""The read model through the real bus (RabbitMQ or the embedded transport) and the inbox, and
its rebuild from the platform's event archive (the RabbitMQ stream, or the embedded folder): the
same tables, with events redelivered and out of order, and events arriving during a rebuild
counted exactly once."""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence

import pytest
from sqlalchemy import select

from services.cli import main
from services.reporting.models import READ_MODEL, ArchiveReplay
from services.reporting.operations.rebuild import RebuildResult, rebuild
from shared.messaging.broker import open_connection
from shared.messaging.consumer import Delivery
from tests.reporting.conftest import ReportingApi, consume_until, publish
from tests.reporting.scenario import cohort
from tests.support.platform import wait_until


def test_rebuild_from_the_archive_gives_the_live_tables(reporting: ReportingApi) -> None:
    events = cohort()
    shuffled = list(events)
    random.Random(20).shuffle(shuffled)
    redelivered = shuffled + random.Random(7).sample(events, 15)  # 15 sent twice
    publish(reporting.runtime, redelivered)
    consume_until(reporting.runtime, len(events), reporting)
    live = reporting.tables()
    assert reporting.handled() == len(events)
    assert len(live["episodes"]) == 7 and len(live["scores"]) == 13

    result = rebuild(reporting.runtime, chunk=10)
    assert result.events == len(redelivered)  # the archive keeps every publication, in order
    assert result.projected == len(events) and result.already_handled == 15  # the copies
    assert result.lookups_from_offset is None  # nobody else wrote: the shortcut held
    assert reporting.tables() == live
    assert reporting.handled() == len(events)  # the inbox again knows every event, once
    with reporting.runtime.database.read_session() as session:
        replay = session.scalars(select(ArchiveReplay)).one()
        assert replay.last_offset == result.last_offset
        assert replay.replayed == len(events) and replay.finished_at is not None


def test_out_of_order_gives_the_same_tables_as_in_order(
    reporting: ReportingApi,
) -> None:
    events = cohort()
    reporting.deliver(events)
    in_order = reporting.tables()
    shuffled = list(events)
    random.Random(3).shuffle(shuffled)
    with reporting.runtime.unit_of_work() as uow:
        for model in READ_MODEL:
            uow.session.query(model).delete()
    reporting.deliver(shuffled)
    assert reporting.tables() == in_order


def test_events_arriving_during_a_rebuild_are_counted_exactly_once(
    reporting: ReportingApi,
) -> None:
    """Three thirds: A handled live before the rebuild; B published but not yet consumed when it
    starts (in the archive before the end mark, and in the queue); C published during it. The
    live consumer runs between the replay's first chunks and handles B and C: the replay must
    project A and leave B, and no event may be handled by both."""
    events = cohort()
    reporting.deliver(events)
    expected = reporting.tables()
    with reporting.runtime.unit_of_work() as uow:
        for model in READ_MODEL:
            uow.session.query(model).delete()
        uow.session.execute(reporting.runtime.spec.tables.inbox.delete())
    third = len(events) // 3
    a, b, c = events[:third], events[third : 2 * third], events[2 * third :]
    publish(reporting.runtime, a)
    consume_until(reporting.runtime, len(a), reporting)
    publish(reporting.runtime, b)  # nobody consumes yet

    live_handled: list[str] = []

    def record(deliveries: Sequence[Delivery]) -> None:
        live_handled.extend(d.event.id for d in deliveries if d.outcome == "handled" and d.event)

    stop = threading.Event()
    consumer = threading.Thread(
        target=reporting.runtime.consumer(before_ack=record).run, args=(stop,), daemon=True
    )
    b_and_c = {event.id for event in b + c}

    def live_meanwhile(progress: RebuildResult) -> None:
        if consumer.is_alive():
            return
        consumer.start()
        publish(reporting.runtime, c + b[:3])  # three of B published twice as well
        assert wait_until(lambda: b_and_c <= set(live_handled), timeout=60), len(live_handled)

    try:
        result = rebuild(reporting.runtime, chunk=4, between_chunks=live_meanwhile)
        assert consumer.is_alive()  # the handover happened mid-replay
    finally:
        stop.set()
        consumer.join(timeout=15)

    assert sorted(live_handled) == sorted(b_and_c)  # each once, nothing of A
    assert result.projected == len(a)  # A by the replay, and only A
    assert result.already_handled == len(b)  # B reached by the replay after the live consumer
    assert result.projected + len(live_handled) == len(events)
    # the replay met rows the live consumer had made, and looked keys up from then on
    assert result.lookups_from_offset is not None
    assert reporting.handled() == len(events)
    assert reporting.tables() == expected


def test_rebuild_command_reports_what_it_replayed(
    reporting: ReportingApi, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    events = cohort()
    publish(reporting.runtime, events)
    consume_until(reporting.runtime, len(events), reporting)
    before = reporting.tables()
    settings = reporting.runtime.settings
    monkeypatch.setenv("REPORTING_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CASEHUB_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CASEHUB_BROKER_URL", settings.broker_url)
    monkeypatch.setenv("CASEHUB_EXCHANGE", settings.exchange)
    assert main(["reporting", "rebuild"]) == 0
    out = capsys.readouterr().out
    assert f"replayed {len(events)} archived events up to offset {len(events) - 1}" in out
    assert f"{len(events)} projected, 0 already handled" in out
    assert reporting.tables() == before


def test_a_rebuild_from_an_empty_archive_leaves_the_read_model_alone(
    reporting: ReportingApi, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Pointed at the wrong broker, exchange or folder, a rebuild would empty every figure and
    replay nothing: it refuses instead, and says why."""
    reporting.deliver(cohort())  # straight to the handlers: nothing was published
    before = reporting.tables()
    connection = open_connection(reporting.runtime.settings)
    try:
        reporting.runtime.topology.declare(connection)  # the stream exists, empty
    finally:
        connection.release()
    settings = reporting.runtime.settings
    monkeypatch.setenv("REPORTING_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CASEHUB_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CASEHUB_BROKER_URL", settings.broker_url)
    monkeypatch.setenv("CASEHUB_EXCHANGE", settings.exchange)
    assert main(["reporting", "rebuild"]) == 1
    assert "the event archive holds no events" in capsys.readouterr().err
    assert reporting.tables() == before
