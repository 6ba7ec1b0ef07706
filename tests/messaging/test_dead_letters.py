"""The dead-letter queue as an operator meets it (issue 14, item 4): a letter that is not JSON
has a stable id, every letter is listed and found however many there are, and a letter that can
never succeed is discarded with a reason the audit trail keeps."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kombu import Connection, Producer
from sqlalchemy import MetaData, select

from services.catalog import runtime_for
from shared.audit import AuditTrail
from shared.config import Settings
from shared.messaging.broker import open_connection
from shared.messaging.dlq import DeadLetterQueue
from shared.metrics import EVENTS_CONSUMED
from shared.service import ServiceRuntime
from tests.support.notes import NOTE_WRITTEN
from tests.support.platform import TestPlatform

ROOT = Path(__file__).resolve().parents[2]
NOT_JSON = b"\x00\xffnot json at all"


def _post(connection: Connection, queue_name: str, body: bytes, **properties: str) -> None:
    """A letter as another tool (or a bug) might leave it: no envelope, maybe no message id."""
    producer = Producer(connection.default_channel)
    producer.publish(
        body,
        exchange="",
        routing_key=queue_name,
        content_type="application/octet-stream",
        content_encoding="binary",
        delivery_mode=2,
        **properties,
    )


def _listed_once_arrived(dlq: DeadLetterQueue, arrived: Callable[[list[str]], bool]) -> list[str]:
    """The letters' ids once the broker has queued what was posted (publishing is asynchronous,
    so a listing right after it may come too early); whatever is listed after 30 s otherwise."""
    deadline = time.monotonic() + 30
    while True:
        ids = [letter.event_id for letter in dlq.list()]
        if arrived(ids) or time.monotonic() > deadline:
            return ids
        time.sleep(0.05)


@pytest.fixture
def letters(platform: TestPlatform) -> Iterator[tuple[Connection, DeadLetterQueue, str]]:
    sink = platform.sink()
    connection = open_connection(sink.settings)
    dlq = DeadLetterQueue(connection, platform.topology, platform.config.sink_name)
    yield connection, dlq, platform.topology.dlq_name(platform.config.sink_name)
    connection.release()


def test_a_letter_that_is_not_json_has_the_same_id_in_every_listing(
    letters: tuple[Connection, DeadLetterQueue, str],
) -> None:
    connection, dlq, name = letters
    _post(connection, name, NOT_JSON)
    _post(connection, name, b'{"no": "id"}', message_id="given-message-id")
    expected = {"sha256:" + hashlib.sha256(NOT_JSON).hexdigest(), "given-message-id"}
    assert set(_listed_once_arrived(dlq, lambda ids: len(ids) >= 2)) == expected
    assert {letter.event_id for letter in dlq.list()} == expected  # the same the second time
    letter = dlq.show("sha256:" + hashlib.sha256(NOT_JSON).hexdigest())
    assert letter is not None and isinstance(letter.envelope, str)


def test_a_letter_the_consumer_parks_keeps_its_envelope_id_or_the_hash_of_its_body(
    platform: TestPlatform, letters: tuple[Connection, DeadLetterQueue, str]
) -> None:
    """Sent without a message id, two letters that are not JSON and one that is not ours are
    parked by the consumer under names that say which letter each is (they were named by a
    memory address, which two letters could share)."""
    connection, dlq, _ = letters
    queue = platform.topology.queue_name(platform.config.sink_name)
    _post(connection, queue, NOT_JSON)
    _post(connection, queue, NOT_JSON + b"2")
    _post(connection, queue, json.dumps({"id": "not-ours-1", "type": "x"}).encode())
    platform.start(platform.sink().consumer().run, "consumer")
    expected = {
        "sha256:" + hashlib.sha256(NOT_JSON).hexdigest(),
        "sha256:" + hashlib.sha256(NOT_JSON + b"2").hexdigest(),
        "not-ours-1",
    }
    assert set(_listed_once_arrived(dlq, lambda ids: len(ids) >= 3)) == expected
    assert dlq.show("not-ours-1") is not None


def test_a_refused_event_of_a_type_the_service_handles_is_counted_under_that_type(
    platform: TestPlatform, letters: tuple[Connection, DeadLetterQueue, str]
) -> None:
    """A risk flag whose envelope is refused is dead-lettered at once: counted as a risk flag
    (the alert CasehubCrisisEventDeadLettered looks for one), not as "unknown"."""
    connection, dlq, _ = letters
    sink = platform.config.sink_name
    counted = EVENTS_CONSUMED.labels(sink, NOTE_WRITTEN, "dead_lettered")
    before = counted._value.get()
    envelope = {
        "specversion": "1.0",
        "id": "refused-note-1",  # not a UUID: the envelope is refused
        "type": NOTE_WRITTEN,
        "source": "/source",
        "subject": "client/1",
        "time": "2026-12-01T10:00:00+00:00",
        "datacontenttype": "application/json",
        "data": {"text": "no note id"},
    }
    _post(connection, platform.topology.queue_name(sink), json.dumps(envelope).encode())
    platform.start(platform.sink().consumer().run, "consumer")
    assert _listed_once_arrived(dlq, lambda ids: "refused-note-1" in ids) == ["refused-note-1"]
    assert counted._value.get() == before + 1


def test_list_show_and_discard_reach_letters_past_the_first_thousand(
    letters: tuple[Connection, DeadLetterQueue, str], real_only: None
) -> None:
    connection, dlq, name = letters
    for number in range(1054):
        body = json.dumps({"id": f"e{number}", "type": "casehub.test.v1", "subject": "x/1"})
        _post(connection, name, body.encode(), message_id=f"e{number}")
    assert len(_listed_once_arrived(dlq, lambda ids: len(ids) >= 1054)) == 1054
    assert dlq.show("e1053") is not None
    discarded = dlq.discard("e1053")
    assert discarded is not None and discarded.event_id == "e1053"
    assert dlq.show("e1053") is None
    assert len(dlq.list()) == 1053


@pytest.fixture
def embedded_planning(data_dir: Path) -> Iterator[tuple[ServiceRuntime, dict[str, str]]]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith("_DATABASE_URL")
        and key not in ("CASEHUB_BROKER_URL", "CASEHUB_DATA_DIR")
    }
    environment["CASEHUB_DATA_DIR"] = str(data_dir)
    runtime = runtime_for("planning", Settings.from_env("planning", environment))
    runtime.migrate()
    yield runtime, environment
    runtime.database.dispose()


def test_casehub_dlq_discard_removes_one_letter_and_audits_why(
    embedded_planning: tuple[ServiceRuntime, dict[str, str]],
) -> None:
    runtime, environment = embedded_planning
    connection = runtime.connect_broker()
    try:
        runtime.topology.declare(connection)
        name = runtime.topology.dlq_name("planning")
        _post(connection, name, NOT_JSON)
        _post(connection, name, NOT_JSON + b"2")
    finally:
        connection.release()
    letter_id = "sha256:" + hashlib.sha256(NOT_JSON).hexdigest()

    def casehub(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "services.cli", "dlq", *args],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )

    refused = casehub("discard", "planning", letter_id)
    assert refused.returncode == 2 and "--reason" in refused.stderr
    done = casehub("discard", "planning", letter_id, "--reason", "garbage", "--actor", "ops-1")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["discarded"]["event_id"] == letter_id
    listed = casehub("list", "planning")
    assert letter_id not in listed.stdout and "1 dead-lettered event(s)" in listed.stdout
    again = casehub("discard", "planning", letter_id, "--reason", "garbage")
    assert again.returncode == 1

    trail = AuditTrail(MetaData())
    with runtime.database.read_session() as session:
        [entry] = session.execute(
            select(trail.table).where(trail.table.c.action == "dlq.discard")
        ).all()
    assert entry.actor == "ops-1"
    assert entry.detail["letter_id"] == letter_id and entry.detail["reason"] == "garbage"
