"""`casehub api` with two gunicorn workers: /metrics is served by the master on a port of its own,
summing the workers' files (prometheus-client's multiprocess mode), and not on the API's port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from tests.support.platform import wait_until
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_the_masters_metrics_port_sums_every_gunicorn_worker(tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    multiproc = tmp_path / "metrics"
    multiproc.mkdir()
    (multiproc / "counter_99999.db").write_bytes(b"left by an earlier run")
    environment = {
        **{k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")},
        "CASEHUB_DATA_DIR": str(tmp_path),
        "CASEHUB_BROKER_URL": "filesystem://",
        "CASEHUB_LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
    }
    api = subprocess.Popen(
        [
            *(sys.executable, "-m", "services.cli", "api", "intake", "--host", "127.0.0.1"),
            *("--port", str(port), "--workers", "2", "--metrics-port", str(metrics_port)),
        ],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def answers() -> bool:
            """Asked of /readyz: a request the client gave up on under load is still served
            and counted, and must not be one of the /healthz requests counted below."""
            try:
                return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).ok
            except requests.RequestException:
                return False

        assert wait_until(answers, timeout=60)
        for _ in range(20):  # each on a new connection, to whichever worker
            assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=30).ok
        assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 404
        scraped = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
        count = next(
            float(line.rsplit(" ", 1)[1])
            for line in scraped.splitlines()
            if line.startswith("casehub_http_request_duration_seconds_count{")
            and 'endpoint="/healthz"' in line
        )
        assert count == 20  # the master served none of them: it read the workers' files
        assert not (multiproc / "counter_99999.db").exists()  # cleared at start
    finally:
        api.send_signal(signal.SIGTERM)
        api.wait(timeout=60)
