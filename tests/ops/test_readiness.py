"""An API whose broker is away stays in service: the outbox holds its writes, so /readyz answers
200 with the broker's state as a detail, and /metrics says the broker is down."""

from __future__ import annotations

import time
from pathlib import Path

from services.catalog import load_spec, platform_topology
from shared.config import Settings
from shared.service import ServiceRuntime
from shared.web import mint_token
from tests.support.backends import Backend

UNREACHABLE_BROKER = "amqp://guest:guest@127.0.0.1:1//;amqp://guest:guest@127.0.0.1:2//"


def _intake(backend: Backend, data_dir: Path, broker_url: str) -> ServiceRuntime:
    settings = Settings(
        service="intake",
        data_dir=data_dir,
        database_url=backend.new_database("intake", data_dir),
        broker_url=broker_url,
        broker_connect_timeout=5,
    )
    runtime = ServiceRuntime(load_spec("intake"), settings, platform_topology(settings))
    runtime.migrate()
    return runtime


def test_api_with_its_broker_unreachable_stays_ready_and_reports_the_broker_down(
    backend: Backend, data_dir: Path
) -> None:
    runtime = _intake(backend, data_dir, UNREACHABLE_BROKER)
    client = runtime.create_app().test_client()

    started = time.monotonic()
    ready = client.get("/readyz")
    answered_in = time.monotonic() - started
    assert ready.status_code == 200, ready.json
    assert ready.json["status"] == "degraded" and ready.json["degraded"] == ["broker"]
    assert ready.json["checks"]["database"] == "ok"
    assert ready.json["checks"]["broker"] != "ok"
    # Each of the two hosts is tried once, without kombu's pauses between rounds: a kubelet
    # probe (timeout a few seconds) gets its answer instead of timing out.
    assert answered_in < 5, answered_in

    token = mint_token(runtime.settings, "iw-1", ["intake_worker"])
    registered = client.post(
        "/clients",
        headers={"Authorization": f"Bearer {token}"},
        json={"given_name": "Ada", "family_name": "Broker", "date_of_birth": "1980-01-01"},
    )
    assert registered.status_code == 201, registered.json
    assert runtime.measure_outbox()[0] == 1  # the event waits in the outbox

    scraped = client.get("/metrics").text
    assert 'casehub_dependency_up{dependency="broker",service="intake"} 0.0' in scraped
    assert 'casehub_dependency_up{dependency="database",service="intake"} 1.0' in scraped
    assert 'casehub_outbox_pending{service="intake"} 1.0' in scraped


def test_api_whose_broker_answers_is_ready_without_detail(backend: Backend, data_dir: Path) -> None:
    runtime = _intake(backend, data_dir, backend.broker_url)
    ready = runtime.create_app().test_client().get("/readyz")
    assert ready.status_code == 200
    assert ready.json["status"] == "ready" and "degraded" not in ready.json
    assert ready.json["checks"] == {"database": "ok", "broker": "ok"}
