"""The read model through the real bus (RabbitMQ or the embedded transport) and the inbox, and
its rebuild from the archive: the same tables, with events redelivered and out of order."""

from __future__ import annotations

import random
import threading

import pytest

from services.cli import main
from services.reporting.models import READ_MODEL, ArchivedEvent
from services.reporting.operations.rebuild import rebuild
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
    assert reporting.archived() == len(events)  # each event archived once
    assert len(live["episodes"]) == 7 and len(live["scores"]) == 13

    result = rebuild(reporting.runtime.database)
    assert result.events == len(events)
    assert reporting.tables() == live


def test_out_of_order_gives_the_same_tables_as_in_order(
    reporting: ReportingApi,
) -> None:
    events = cohort()
    reporting.deliver(events)
    in_order = reporting.tables()
    shuffled = list(events)
    random.Random(3).shuffle(shuffled)
    with reporting.runtime.unit_of_work() as uow:
        for model in (*READ_MODEL, ArchivedEvent):
            uow.session.query(model).delete()
    reporting.deliver(shuffled)
    assert reporting.tables() == in_order


def test_rebuild_while_events_arrive_misses_none_and_counts_none_twice(
    reporting: ReportingApi,
) -> None:
    events = cohort()
    reporting.deliver(events)
    expected = reporting.tables()
    with reporting.runtime.unit_of_work() as uow:
        for model in (*READ_MODEL, ArchivedEvent):
            uow.session.query(model).delete()
    first, second = events[: len(events) // 2], events[len(events) // 2 :]
    publish(reporting.runtime, first)
    consume_until(reporting.runtime, len(first), reporting)
    stop = threading.Event()
    consumer = threading.Thread(target=reporting.runtime.consumer().run, args=(stop,))
    consumer.start()
    try:
        publish(reporting.runtime, second)
        for _ in range(3):
            rebuild(reporting.runtime.database)
        assert wait_until(lambda: reporting.archived() >= len(events), timeout=60)
    finally:
        stop.set()
        consumer.join(timeout=15)
    assert reporting.tables() == expected


def test_rebuild_command_reports_what_it_replayed(
    reporting: ReportingApi, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    events = cohort()
    reporting.deliver(events)
    before = reporting.tables()
    settings = reporting.runtime.settings
    monkeypatch.setenv("REPORTING_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CASEHUB_DATA_DIR", str(settings.data_dir))
    assert main(["reporting", "rebuild"]) == 0
    assert f"replayed {len(events)} archived events" in capsys.readouterr().out
    assert reporting.tables() == before
