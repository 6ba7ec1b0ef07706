"""A worker process serves no API, yet Kubernetes must probe it and Prometheus scrape it: its own
port answers /healthz (every worker thread alive, not stopping), /readyz (its database) and
/metrics (with the queue and outbox read when scraped, and the escalator's counts in the
notifications worker). Like ``casehub api``, it listens on loopback unless told otherwise."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from shared.config import Settings
from shared.service import ServiceRuntime
from shared.worker import start_metrics_server, worker_threads
from tests.support.backends import Backend
from tests.support.listening import listening_addresses
from tests.support.platform import wait_until
from tests.support.ports import free_port
from tests.support.services import RunningServices


@pytest.fixture
def services(backend: Backend, data_dir: Path) -> Iterator[RunningServices]:
    running = RunningServices(backend, data_dir, ["intake", "planning"])
    yield running
    running.shutdown()


def test_a_workers_own_port_answers_its_probes_and_metrics_until_it_stops(
    services: RunningServices,
) -> None:
    runtime = services["planning"]
    stop = threading.Event()
    threads = worker_threads(runtime, stop)
    for thread in threads:
        thread.start()
    server = start_metrics_server(runtime, threads, stop, free_port(), host="127.0.0.1")
    assert server is not None
    url = f"http://127.0.0.1:{server.port}"
    try:
        health = requests.get(f"{url}/healthz", timeout=5)
        assert health.status_code == 200 and health.json()["checks"] == {"threads": "ok"}
        ready = requests.get(f"{url}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["database"] == "ok"
        assert ready.json()["checks"]["broker"] == "ok"

        def consuming() -> bool:
            text = requests.get(f"{url}/metrics", timeout=10).text
            return 'casehub_consumer_connected{service="planning"} 1.0' in text

        assert wait_until(consuming, timeout=30)
        scraped = requests.get(f"{url}/metrics", timeout=10).text
        assert 'casehub_queue_messages{queue="dlq",service="planning"} 0.0' in scraped
        assert 'casehub_outbox_pending{service="planning"} 0.0' in scraped
        assert requests.get(f"{url}/nothing", timeout=5).status_code == 404

        stop.set()  # SIGTERM: the probe says so at once, the threads finish their batch
        stopping = requests.get(f"{url}/healthz", timeout=5)
        assert stopping.status_code == 503 and stopping.json()["checks"]["worker"] == "stopping"
        for thread in threads:
            thread.join(timeout=30)
        dead = requests.get(f"{url}/healthz", timeout=5).json()["checks"]["threads"]
        assert dead.startswith("stopped: planning-")
    finally:
        stop.set()
        server.stop()


@pytest.mark.parametrize(
    ("environment", "listens_on"),
    [({}, "127.0.0.1"), ({"CASEHUB_METRICS_HOST": "0.0.0.0"}, "0.0.0.0")],
)
def test_a_workers_port_listens_on_loopback_unless_told_otherwise(
    services: RunningServices, environment: dict[str, str], listens_on: str
) -> None:
    """The manifests and compose set CASEHUB_METRICS_HOST=0.0.0.0, so the kubelet and Prometheus
    reach the pod's address; on a laptop the worker's figures stay on the machine."""
    planning = services["planning"]
    host = Settings.from_env("planning", environment).metrics_host
    runtime = ServiceRuntime(
        planning.spec, replace(planning.settings, metrics_host=host), planning.topology
    )
    stop = threading.Event()
    server = start_metrics_server(runtime, [], stop, free_port())
    assert server is not None
    try:
        assert listening_addresses(server.port) == {listens_on}
        assert requests.get(f"http://127.0.0.1:{server.port}/healthz", timeout=5).status_code == 200
    finally:
        server.stop()


def test_the_notifications_workers_port_counts_escalations_from_zero(
    backend: Backend, data_dir: Path
) -> None:
    """The escalator runs in the notifications worker: its port shows each level's escalations
    and the failed ones from 0, before any happens, so the alert rules see the first one."""
    running = RunningServices(backend, data_dir, ["notifications"])
    stop = threading.Event()
    server = start_metrics_server(running["notifications"], [], stop, free_port())
    assert server is not None
    try:
        scraped = requests.get(f"http://127.0.0.1:{server.port}/metrics", timeout=10).text
    finally:
        server.stop()
        running.shutdown()
    for level in ("1", "2"):
        assert re.search(rf'^casehub_escalations_total{{level="{level}"}} \d', scraped, re.M)
    assert re.search(r"^casehub_escalations_failed_total \d", scraped, re.M)
