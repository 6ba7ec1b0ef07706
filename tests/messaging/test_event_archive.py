"""The event archive: every event published on the exchange kept in order with its offset — a
RabbitMQ stream with its retention arguments, or the embedded default's segment folder — read
from the start, an offset or a time, up to an end mark, and exported for a new consumer."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import amqp
import pytest

from services.catalog import platform_topology
from services.cli import main
from shared.config import Settings
from shared.messaging.archive import (
    STREAM_ACK_EVERY,
    STREAM_PREFETCH,
    FolderArchive,
    open_archive,
)
from shared.messaging.broker import open_connection
from shared.messaging.publisher import OutgoingMessage, make_publisher
from shared.messaging.topology import Topology, rabbitmq_definitions
from shared.service import ServiceRuntime
from tests.support.backends import Backend

KEY = "intake.client.registered.v1"


@pytest.fixture
def platform(backend: Backend, data_dir: Path) -> Iterator[tuple[Settings, Topology]]:
    settings = Settings(
        service="probe",
        data_dir=data_dir,
        database_url="sqlite://",
        broker_url=backend.broker_url,
        exchange=f"casehub.test.archive.{uuid.uuid4().hex[:8]}",
        archive_max_age="30D",
        archive_max_bytes=10_000_000,
    )
    topology = platform_topology(settings)
    yield settings, topology
    if backend.is_real:
        connection = open_connection(settings)
        try:
            channel = connection.channel()
            for service in topology.subscriptions:
                for queue in topology.queue_names(service):
                    channel.queue_delete(queue)
            channel.queue_delete(topology.archive_name)
            channel.exchange_delete(settings.exchange)
        finally:
            connection.release()


def _publish(settings: Settings, topology: Topology, bodies: list[bytes]) -> None:
    """As a relay publishes: confirmed on RabbitMQ, files (and the archive) embedded."""
    connection = open_connection(settings)
    try:
        topology.declare(connection)
        publisher = make_publisher(connection, 10.0)
        outcome = publisher.publish(
            [
                OutgoingMessage(n, str(uuid.uuid4()), settings.exchange, KEY, body)
                for n, body in enumerate(bodies)
            ]
        )
        assert len(outcome.confirmed) == len(bodies), outcome
        publisher.close()
    finally:
        connection.release()


def _bodies(first: int, count: int) -> list[bytes]:
    return [json.dumps({"n": n}, separators=(",", ":")).encode() for n in range(first, count)]


def test_every_published_event_is_archived_in_order_with_its_offset(
    platform: tuple[Settings, Topology],
) -> None:
    settings, topology = platform
    before = datetime.now(UTC) - timedelta(minutes=1)
    _publish(settings, topology, _bodies(0, 5))
    _publish(settings, topology, _bodies(5, 12))
    archive = open_archive(settings, topology, lambda: open_connection(settings))
    mark = archive.end_mark()
    _publish(settings, topology, _bodies(12, 15))  # after the mark: not read up to it

    everything = list(archive.read("first", until=mark))
    assert [m.offset for m in everything] == list(range(12))
    assert [json.loads(m.body)["n"] for m in everything] == list(range(12))
    assert {m.routing_key for m in everything} == {KEY}
    assert [m.offset for m in archive.read(7, until=mark)] == list(range(7, 12))
    assert len(list(archive.read(before, until=mark))) == 12
    later = [json.loads(m.body)["n"] for m in archive.read("first")]  # up to the end now
    assert later[:12] == list(range(12)) and later[-3:] == [12, 13, 14]


def test_an_archive_longer_than_the_prefetch_is_read_to_its_end_in_order(
    platform: tuple[Settings, Topology],
) -> None:
    """A stream reader acknowledges in groups: the broker's credit must never run out."""
    settings, topology = platform
    count = STREAM_PREFETCH + 3 * STREAM_ACK_EVERY + 7
    _publish(settings, topology, _bodies(0, count))
    archive = open_archive(settings, topology, lambda: open_connection(settings))

    read = list(archive.read("first", until=archive.end_mark()))
    assert [m.offset for m in read] == list(range(count))
    assert [json.loads(m.body)["n"] for m in read] == list(range(count))


def test_the_stream_is_declared_with_its_retention_arguments(
    platform: tuple[Settings, Topology], real_only: None
) -> None:
    """RabbitMQ refuses a declare whose arguments differ from the queue's: the stream holds
    exactly the type, age and size the topology gives."""
    settings, topology = platform
    connection = open_connection(settings)
    try:
        topology.declare(connection)
        channel = connection.channel()
        arguments = {"x-queue-type": "stream", "x-max-age": "30D", "x-max-length-bytes": 10_000_000}
        channel.queue_declare(
            topology.archive_name, durable=True, auto_delete=False, arguments=arguments
        )
        for changed in ({"x-max-age": "31D"}, {"x-max-length-bytes": 20_000_000}):
            channel = connection.channel()
            with pytest.raises(amqp.exceptions.PreconditionFailed):
                channel.queue_declare(
                    topology.archive_name,
                    durable=True,
                    auto_delete=False,
                    arguments=arguments | changed,
                )
        declared = connection.channel().queue_declare(topology.archive_name, passive=True)
        assert declared.queue == topology.archive_name
    finally:
        connection.release()


def test_the_definitions_file_binds_the_stream_to_every_key_with_the_settings_retention() -> None:
    settings = Settings.from_env(
        "cli", {"CASEHUB_ARCHIVE_MAX_AGE": "400D", "CASEHUB_ARCHIVE_MAX_BYTES": "123456789"}
    )
    definitions = rabbitmq_definitions(platform_topology(settings))
    [stream] = [q for q in definitions["queues"] if q["name"] == "events.archive"]
    assert stream["arguments"] == {
        "x-queue-type": "stream",
        "x-max-age": "400D",
        "x-max-length-bytes": 123456789,
    }
    bindings = [b for b in definitions["bindings"] if b["destination"] == "events.archive"]
    assert [(b["source"], b["routing_key"]) for b in bindings] == [("casehub.events", "#")]


@pytest.mark.parametrize(
    ("variable", "value"),
    [("CASEHUB_ARCHIVE_MAX_AGE", "7 years"), ("CASEHUB_ARCHIVE_MAX_BYTES", "-1")],
)
def test_a_malformed_retention_fails_at_start(variable: str, value: str) -> None:
    with pytest.raises(ValueError, match=r"archive|CASEHUB_ARCHIVE_MAX_BYTES"):
        Settings.from_env("cli", {variable: value})


def test_writers_in_parallel_get_one_offset_each_in_order(tmp_path: Path) -> None:
    def write(writer: int) -> None:
        archive = FolderArchive(tmp_path)  # each its own instance: the file lock serialises
        for n in range(20):
            archive.append(
                [(KEY, json.dumps({"w": writer, "n": n, "i": i}).encode()) for i in (0, 1)]
            )

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    read = list(FolderArchive(tmp_path).read())
    assert [m.offset for m in read] == list(range(160))
    for writer in range(4):  # each writer's events in the order it wrote them
        mine = [json.loads(m.body) for m in read if json.loads(m.body)["w"] == writer]
        assert [(e["n"], e["i"]) for e in mine] == [(n, i) for n in range(20) for i in (0, 1)]


def test_a_line_cut_short_by_a_dead_writer_is_never_read_and_then_replaced(tmp_path: Path) -> None:
    archive = FolderArchive(tmp_path)
    archive.append([(KEY, b'{"n":0}'), (KEY, b'{"n":1}')])
    [segment] = sorted(tmp_path.glob("*.jsonl"))
    with open(segment, "ab") as handle:
        handle.write(b'{"offset": 2, "archived_at": "2026-')  # the writer died here
    assert [m.offset for m in FolderArchive(tmp_path).read("first", until="3")] == [0, 1]
    assert FolderArchive(tmp_path).append([(KEY, b'{"n":2}')]) == [2]
    assert [json.loads(m.body)["n"] for m in FolderArchive(tmp_path).read()] == [0, 1, 2]


def test_retention_removes_whole_old_segments_and_offsets_go_on(tmp_path: Path) -> None:
    archive = FolderArchive(tmp_path, max_bytes=2_000, segment_bytes=500)
    for n in range(60):
        archive.append([(KEY, json.dumps({"n": n, "pad": "x" * 40}).encode())])
    kept = list(archive.read())
    assert kept[0].offset > 0 and kept[-1].offset == 59  # the oldest went, the newest stayed
    assert [m.offset for m in kept] == list(range(kept[0].offset, 60))
    assert sum(path.stat().st_size for path in tmp_path.glob("*.jsonl")) <= 2_000 + 500
    assert next(iter(archive.read(0))).offset == kept[0].offset  # before the oldest: from it
    assert archive.append([(KEY, b"{}")]) == [60]

    aged = FolderArchive(tmp_path, max_age=timedelta(minutes=1), segment_bytes=500)
    closed = sorted(tmp_path.glob("*.jsonl"))[:-1]
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).timestamp()
    for segment in closed:
        os.utime(segment, (an_hour_ago, an_hour_ago))
    aged.append([(KEY, json.dumps({"pad": "y" * 600}).encode())])  # fills the open segment
    aged.append([(KEY, b"{}")])  # starts a new one: the old ones go
    assert closed and not any(segment.exists() for segment in closed)
    assert [m.offset for m in aged.read()][-1] == 62


def test_export_writes_json_lines_for_a_new_consumer(
    platform: tuple[Settings, Topology],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings, topology = platform
    _publish(settings, topology, _bodies(0, 6))
    monkeypatch.setenv("CASEHUB_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CASEHUB_BROKER_URL", settings.broker_url)
    monkeypatch.setenv("CASEHUB_EXCHANGE", settings.exchange)
    out = tmp_path / "backfill.jsonl"
    assert main(["archive", "export", "--from", "2", "--out", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(line["offset"], line["event"]["n"]) for line in lines] == [(n, n) for n in range(2, 6)]
    assert {line["routing_key"] for line in lines} == {KEY}
    assert "exported 4 events, last offset 5" in capsys.readouterr().err
    assert main(["archive", "export", "--from", "yesterday"]) == 2


def test_a_service_runtime_opens_the_archive_of_its_exchange(
    platform: tuple[Settings, Topology],
) -> None:
    settings, topology = platform
    _publish(settings, topology, _bodies(0, 3))
    from services.catalog import load_spec

    runtime = ServiceRuntime(load_spec("reporting"), settings, topology)
    assert [m.offset for m in runtime.event_archive().read()] == [0, 1, 2]
