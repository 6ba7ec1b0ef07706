"""A worker process serves no API, yet Kubernetes must probe it and Prometheus scrape it: its own
port answers /healthz (every worker thread alive, not stopping), /readyz (its database) and
/metrics (with the queue and outbox read when scraped)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from shared.worker import start_metrics_server, worker_threads
from tests.support.backends import Backend
from tests.support.mail import free_port
from tests.support.platform import wait_until
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
