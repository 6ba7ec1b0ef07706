"""What happens when things go wrong: broker away, consumer killed, handler failing, bad events."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.messaging.broker import open_connection
from shared.messaging.dlq import DeadLetterQueue
from shared.messaging.publisher import OutgoingMessage, make_publisher
from shared.web import mint_token
from tests.support.backends import Backend
from tests.support.notes import FAULTS, NOTE_ROUTING_KEY, effects, write_note
from tests.support.platform import (
    TestPlatform,
    create_platform,
    inbox_ids,
    outbox_rows,
    wait_until,
)
from tests.support.private_servers import PrivateRabbitMQ

REPO = Path(__file__).resolve().parents[2]
UNREACHABLE_BROKER = "amqp://guest:guest@127.0.0.1:1//"


def _write_notes(platform: TestPlatform, count: int, prefix: str = "n") -> list[str]:
    source = platform.source()
    ids = []
    for number in range(count):
        with source.unit_of_work() as uow:
            ids.append(
                write_note(uow, f"{prefix}{number}", f"client/{number % 7}", "text", number).id
            )
    return ids


def test_broker_unreachable_api_writes_succeed_and_events_wait_then_all_arrive_once(
    platform: TestPlatform,
) -> None:
    down = platform.source(broker_url=UNREACHABLE_BROKER, broker_connect_timeout=0.5)
    down_relay = down.relay()
    platform.start(down_relay.run, "relay-without-broker")
    api = down.create_app().test_client()
    token = mint_token(down.settings, "cm1", ["case_manager"])
    event_ids = []
    for number in range(40):
        response = api.post(
            "/notes",
            json={"note_id": f"n{number}", "subject": f"client/{number % 7}", "text": "t"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201, response.json
        event_ids.append(response.json["event_id"])
    assert api.get("/readyz").json["checks"]["broker"] != "ok"
    assert all(row.published_at is None for row in outbox_rows(down))
    platform.shutdown()

    sink = platform.sink()
    platform.start(platform.source().relay().run, "relay")
    platform.start(sink.consumer().run, "consumer")
    assert wait_until(lambda: len(effects(sink)) == 40, timeout=30)
    assert sorted(effect.event_id for effect in effects(sink)) == sorted(event_ids)
    assert all(row.published_at is not None for row in outbox_rows(down))


def test_consumer_killed_before_ack_gets_redelivery_and_inbox_skips_duplicate(
    platform: TestPlatform,
) -> None:
    [event_id] = _write_notes(platform, 1)
    relay_source = platform.source()
    platform.start(relay_source.relay().run, "relay")
    assert wait_until(lambda: outbox_rows(relay_source)[0].published_at is not None)

    doomed = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.support.worker_process",
            platform.config.to_json(),
            "--die-before-ack",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert doomed.returncode == -signal.SIGKILL, doomed.stderr
    assert "handled-and-dying" in doomed.stdout
    sink = platform.sink()
    assert inbox_ids(sink) == {event_id}  # the effect was committed before the crash

    calls_before = FAULTS.calls["n0"]
    platform.start(sink.consumer().run, "consumer")
    assert wait_until(lambda: FAULTS.calls["n0"] == calls_before + 1 or _queue_empty(platform))
    platform.shutdown()
    assert [effect.event_id for effect in effects(sink)] == [event_id]
    assert FAULTS.calls["n0"] == calls_before  # redelivered, recognised, handler not run again


def _queue_empty(platform: TestPlatform) -> bool:
    connection = open_connection(platform.sink().settings)
    try:
        queue = platform.topology.service_queue(platform.config.sink_name).bind(
            connection.default_channel
        )
        message = queue.get(no_ack=False)
        if message is None:
            return True
        message.requeue()
        return False
    finally:
        connection.release()


def test_failing_handler_retries_then_dead_letters_and_replay_succeeds_after_fix(
    platform: TestPlatform,
) -> None:
    FAULTS.failing_note_ids.add("n0")
    [event_id] = _write_notes(platform, 1)
    sink = platform.sink()
    platform.start(platform.source().relay().run, "relay")
    platform.start(sink.consumer().run, "consumer")
    if sink.settings.uses_embedded_broker:
        platform.start(sink.retry_pump().run, "retry-pump")

    attempts = 1 + len(platform.topology.retry_delays)
    assert wait_until(lambda: FAULTS.calls["n0"] == attempts, timeout=30), FAULTS.calls
    connection = open_connection(sink.settings)
    try:
        dlq = DeadLetterQueue(connection, platform.topology, platform.config.sink_name)
        assert wait_until(lambda: [letter.event_id for letter in dlq.list()] == [event_id])
        [letter] = dlq.list()
        assert "cannot handle note n0 yet" in letter.error
        assert letter.attempts == len(platform.topology.retry_delays)
        assert effects(sink) == []

        FAULTS.failing_note_ids.clear()  # the bug is fixed
        assert dlq.replay([event_id]) == [event_id]
    finally:
        connection.release()
    assert wait_until(lambda: len(effects(sink)) == 1)
    assert FAULTS.calls["n0"] == attempts + 1


def test_a_write_the_database_refuses_dead_letters_that_event_and_keeps_its_batch_mates(
    platform: TestPlatform,
) -> None:
    FAULTS.refused_note_ids.add("n0")
    refused, accepted = _write_notes(platform, 2)
    sink = platform.sink()
    platform.start(platform.source().relay().run, "relay")
    platform.start(sink.consumer().run, "consumer")
    if sink.settings.uses_embedded_broker:
        platform.start(sink.retry_pump().run, "retry-pump")

    connection = open_connection(sink.settings)
    try:
        dlq = DeadLetterQueue(connection, platform.topology, platform.config.sink_name)
        assert wait_until(lambda: [letter.event_id for letter in dlq.list()] == [refused])
        [letter] = dlq.list()
        assert "IntegrityError" in letter.error
    finally:
        connection.release()
    assert [effect.event_id for effect in effects(sink)] == [accepted]
    assert refused not in inbox_ids(sink)  # nothing half-recorded for the refused event


def test_invalid_event_goes_straight_to_dead_letter_queue(platform: TestPlatform) -> None:
    sink = platform.sink()
    platform.start(sink.consumer().run, "consumer")
    bad_data_id, not_json_id = str(uuid.uuid4()), str(uuid.uuid4())
    envelope = {
        "specversion": "1.0",
        "id": bad_data_id,
        "source": "/source",
        "type": "casehub.source.note.written.v1",
        "subject": "client/1",
        "time": "2026-11-23T10:00:00+00:00",
        "data": {"note_id": "n1", "text": 42},
    }
    connection = open_connection(sink.settings)
    try:
        publisher = make_publisher(connection, 5)
        outcome = publisher.publish(
            [
                OutgoingMessage(
                    1,
                    bad_data_id,
                    platform.config.exchange,
                    NOTE_ROUTING_KEY,
                    json.dumps(envelope).encode(),
                ),
                OutgoingMessage(
                    2, not_json_id, platform.config.exchange, NOTE_ROUTING_KEY, b"{not json"
                ),
            ]
        )
        assert sorted(outcome.confirmed) == [1, 2]
        dlq = DeadLetterQueue(connection, platform.topology, platform.config.sink_name)
        assert wait_until(lambda: len(dlq.list()) == 2)
        letters = {letter.event_id: letter for letter in dlq.list()}
    finally:
        connection.release()
    assert (
        "text" in letters[bad_data_id].error and "Not a valid string" in letters[bad_data_id].error
    )
    assert "not JSON" in letters[not_json_id].error
    assert FAULTS.calls["n1"] == 0  # never retried, never handled
    assert effects(sink) == []


def test_worker_stops_cleanly_on_sigterm(platform: TestPlatform) -> None:
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.support.worker_process", platform.config.to_json()],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert worker.stdout is not None
    assert worker.stdout.readline().strip() == "consuming"
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=20) == 0
    assert "stopped cleanly" in worker.stdout.read()


@pytest.fixture
def platform_on_private_node(
    backend: Backend, real_only: None, data_dir: Path, private_rabbitmq: PrivateRabbitMQ
) -> Iterator[TestPlatform]:
    """On a RabbitMQ node of the test's own, so dropping every connection disturbs nobody else."""
    private = Backend(
        backend.kind,
        broker_url=private_rabbitmq.url,
        admin_database_url=backend.admin_database_url,
    )
    test_platform = create_platform(private, data_dir)
    yield test_platform
    test_platform.shutdown()
    test_platform.remove_broker_objects()
    private.drop_databases()


@pytest.mark.slow
def test_relay_and_consumer_recover_when_the_broker_drops_their_connections(
    platform_on_private_node: TestPlatform, private_rabbitmq: PrivateRabbitMQ
) -> None:
    """As after a broker restart: connections vanish; no process restart is needed."""
    platform = platform_on_private_node
    sink = platform.sink()
    platform.start(platform.source().relay().run, "relay")
    platform.start(sink.consumer().run, "consumer")
    _write_notes(platform, 5, prefix="before")
    assert wait_until(lambda: len(effects(sink)) == 5)

    private_rabbitmq.ctl("close_all_connections", "casehub test: broker restart")
    _write_notes(platform, 5, prefix="after")
    assert wait_until(lambda: len(effects(sink)) == 10, timeout=60)
    assert len({effect.event_id for effect in effects(sink)}) == 10
