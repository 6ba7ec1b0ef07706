"""One benchmark run's own corner of the shared servers: databases, an exchange and queue names
no one else uses, the service processes started on them, and everything removed afterwards."""

from __future__ import annotations

import contextlib
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

import psycopg
import requests
from kombu import Connection
from sqlalchemy.engine import make_url

from shared.config import SERVICE_NAMES, Settings
from shared.crypto import generate_key

ROOT = Path(__file__).resolve().parents[1]
DATABASE_URL = os.environ.get(
    "CASEHUB_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BROKER_URL = os.environ.get("CASEHUB_BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()


def resident_mb(pid: int) -> float:
    """Resident set size of one process (VmRSS), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all cores so far; two readings give the busy share between."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def local_postgres() -> list[int]:
    """PostgreSQL's processes on this machine (none when the bench's server is elsewhere)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    found.append(int(entry.name))
            except OSError:
                continue  # ended meanwhile
    return found


def cpu_of(pids: list[int]) -> dict[int, float]:
    """CPU seconds each process has used so far (those that ended meanwhile left out)."""
    used = {}
    for pid in pids:
        try:
            used[pid] = cpu_seconds(pid)
        except (OSError, IndexError):
            continue
    return used


def children(pid: int) -> list[int]:
    """Direct children (gunicorn's workers under its arbiter)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


class PeakMemory:
    """Highest resident memory of any one of some processes while a load runs."""

    def __init__(self, pids: Callable[[], list[int]]) -> None:
        self.pids = pids
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            for pid in self.pids():
                with contextlib.suppress(OSError):
                    self.peak = max(self.peak, resident_mb(pid))

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _admin_conninfo() -> str:
    url = make_url(DATABASE_URL).set(drivername="postgresql", database="postgres")
    return url.render_as_string(hide_password=False)


def machine_facts() -> dict[str, str]:
    with psycopg.connect(_admin_conninfo()) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    with Connection(BROKER_URL) as connection:
        connection.ensure_connection(max_retries=2)
        properties = connection.connection.server_properties
    return {
        "cores": str(os.cpu_count()),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "postgresql": row[0] if row else "?",
        "rabbitmq": str(properties.get("version", "?")),
        "os": platform.platform(terse=True),
    }


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


class Stack:
    """Databases, exchange and queues named after this run only; service processes on them."""

    def __init__(self, services: tuple[str, ...] = SERVICE_NAMES, **extra_env: str) -> None:
        self.run_id = uuid.uuid4().hex[:8]
        self.exchange = f"casehub.bench.{self.run_id}"
        self.queue_prefix = f"bench.{self.run_id}."
        self.data_dir = Path(tempfile.mkdtemp(prefix="casehub-bench-"))
        self.databases: dict[str, str] = {}
        self.processes: list[subprocess.Popen[bytes]] = []
        self.environment = {
            **{k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")},
            "CASEHUB_DATA_DIR": str(self.data_dir),
            "CASEHUB_BROKER_URL": BROKER_URL,
            "CASEHUB_EXCHANGE": self.exchange,
            "CASEHUB_QUEUE_PREFIX": self.queue_prefix,
            "CASEHUB_LOG_LEVEL": "WARNING",
            "CASEHUB_JWT_SECRET": secrets.token_hex(32),
            "CASEHUB_ENCRYPTION_KEYS": generate_key(),
            **extra_env,
        }
        for service in services:
            self.databases[service] = self._create_database(service)
            self.environment[f"{service.upper()}_DATABASE_URL"] = self.databases[service]

    def _create_database(self, service: str) -> str:
        name = f"casehub_bench_{service}_{self.run_id}"
        with psycopg.connect(_admin_conninfo(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        url = make_url(DATABASE_URL).set(database=name, drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)

    def settings(self, service: str) -> Settings:
        return Settings.from_env(service, self.environment)

    def _cli(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", *args],
            cwd=ROOT,
            env=dict(env or self.environment),
        )
        self.processes.append(process)
        return process

    def migrate(self, *services: str) -> None:
        for service in services:
            subprocess.run(
                [sys.executable, "-m", "services.cli", "migrate", service],
                cwd=ROOT,
                env=self.environment,
                check=True,
                capture_output=True,
            )

    def start_api(self, service: str, workers: int = 2) -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        process = self._cli(
            "api",
            service,
            "--no-migrate",
            "--workers",
            str(workers),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        )
        url = f"http://127.0.0.1:{port}"
        if not wait_until(lambda: _answers(f"{url}/readyz"), timeout=60):
            raise RuntimeError(f"{service} API never became ready")
        return process, url

    def start_worker(self, service: str, **extra_env: str) -> subprocess.Popen[bytes]:
        return self._cli("worker", service, "--no-migrate", env={**self.environment, **extra_env})

    def start_gunicorn(self, app: str, workers: int = 2) -> tuple[subprocess.Popen[bytes], str]:
        """Any WSGI app served exactly as ``casehub api`` serves ours (gthread, 4 threads)."""
        port = free_port()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--worker-class",
                "gthread",
                "--threads",
                "4",
                "--keep-alive",
                "5",
                "--log-level",
                "warning",
                app,
            ],
            cwd=ROOT,
            env=self.environment,
        )
        self.processes.append(process)
        url = f"http://127.0.0.1:{port}"
        if not wait_until(lambda: _answers(f"{url}/healthz"), timeout=60):
            raise RuntimeError(f"{app} never became ready")
        return process, url

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process in self.processes:
            self.processes.remove(process)

    def close(self) -> None:
        for process in list(self.processes):
            self.stop(process)
        with contextlib.suppress(Exception), Connection(BROKER_URL) as connection:
            channel = connection.channel()
            for service in SERVICE_NAMES:
                base = f"{self.queue_prefix}{service}.events"
                for name in (base, f"{base}.dlq", *self._retry_queue_names(base)):
                    channel.queue_delete(name)
            channel.queue_delete(f"{self.queue_prefix}events.archive")  # the event archive
            channel.exchange_delete(self.exchange)
        with psycopg.connect(_admin_conninfo(), autocommit=True) as connection:
            for url in self.databases.values():
                name = make_url(url).database
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.databases.clear()

    def _retry_queue_names(self, base: str) -> list[str]:
        delays = self.settings("intake").retry_delays
        return [f"{base}.retry.{round(delay * 1000)}ms" for delay in delays]

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
