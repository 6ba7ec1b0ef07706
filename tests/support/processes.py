"""Services run as the container images run them: a gunicorn API process and a worker process
per service, started with the `casehub` CLI, so tests can stop, kill and restart them."""

from __future__ import annotations

import contextlib
import os
import queue
import random
import secrets
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import requests
from kombu import Connection

from shared.config import SERVICE_NAMES, SERVICE_PORTS, WORKER_METRICS_PORTS, Settings
from shared.crypto import generate_key
from shared.messaging.topology import Topology
from shared.service import subscriptions
from shared.web import mint_token
from tests.support.platform import wait_until
from tests.support.ports import bindable, free_port

ROOT = Path(__file__).resolve().parents[2]
CASEHUB = [sys.executable, "-m", "services.cli"]


def _listening_inode(port: int) -> str | None:
    """The inode of the TCP socket listening on ``port`` (any address), from /proc/net."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # LISTEN
                return fields[9]
    return None


def _holds_socket(pid: int, inode: str) -> bool:
    """Whether process ``pid`` has the socket ``inode`` open (a gunicorn arbiter its listener)."""
    target = f"socket:[{inode}]"
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for descriptor in descriptors:
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/fd/{descriptor}") == target:
                return True
    return False


class ProcessPlatform:
    """Some or all services on one broker, each with its own database, its own exchange per run."""

    def __init__(
        self,
        broker_url: str,
        database_urls: Mapping[str, str],
        data_dir: Path,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        self.services = list(database_urls)
        self.broker_url = broker_url
        self.data_dir = data_dir
        self.ports = {name: free_port() for name in self.services}
        self.exchange = f"casehub.proc.{uuid.uuid4().hex[:8]}"
        self.environment = {
            **{k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")},
            "CASEHUB_DATA_DIR": str(data_dir),
            "CASEHUB_BROKER_URL": broker_url,
            "CASEHUB_EXCHANGE": self.exchange,
            "CASEHUB_RETRY_DELAYS": "0.5",
            "CASEHUB_RELAY_POLL_INTERVAL": "0.2",
            "CASEHUB_BROKER_CONNECT_TIMEOUT": "2",
            "CASEHUB_LOG_LEVEL": "WARNING",
            "CASEHUB_JWT_SECRET": secrets.token_hex(32),
            # Configured as a deployment must be (a placeholder makes the worker unready); mail
            # goes to the tests' SMTP catcher whatever the domain.
            "NOTIFICATIONS_ON_CALL_EMAIL": "on-call@crisis-team.casehub-agency.org",
            "NOTIFICATIONS_INTAKE_ON_CALL_EMAIL": "intake-on-call@crisis-team.casehub-agency.org",
            "CASEHUB_ENCRYPTION_KEYS": generate_key(),
            **{f"{name.upper()}_DATABASE_URL": url for name, url in database_urls.items()},
            **(environment or {}),
        }
        self.settings = Settings.from_env("tests", self.environment)
        self.apis: dict[str, subprocess.Popen[bytes]] = {}
        self._api_workers: dict[str, int] = {}
        #: Where each API's gunicorn master and each worker serve /metrics (ports of their own).
        self.api_metrics_ports: dict[str, int] = {}
        self.worker_metrics_ports: dict[str, list[int]] = {name: [] for name in SERVICE_NAMES}
        self.workers: dict[str, list[subprocess.Popen[bytes]]] = {
            name: [] for name in SERVICE_NAMES
        }
        self._logs: list[Any] = []

    # -- processes ----------------------------------------------------------------------------
    def _spawn(self, label: str, *arguments: str) -> subprocess.Popen[bytes]:
        log = open(self.data_dir / f"{label}.log", "ab")  # noqa: SIM115 - closed in stop()
        self._logs.append(log)
        return subprocess.Popen(
            [*CASEHUB, *arguments], cwd=ROOT, env=self.environment, stdout=log, stderr=log
        )

    def migrate(self) -> None:
        for name in self.services:
            subprocess.run(
                [*CASEHUB, "migrate", name],
                cwd=ROOT,
                env=self.environment,
                check=True,
                capture_output=True,
            )

    def start_api(self, name: str, workers: int = 1) -> None:
        port = str(self.ports[name])
        self.api_metrics_ports[name] = free_port()
        self._api_workers[name] = workers
        self.apis[name] = self._spawn(
            f"{name}-api",
            *("api", name, "--no-migrate", "--workers", str(workers), "--host", "127.0.0.1"),
            *("--port", port, "--metrics-port", str(self.api_metrics_ports[name])),
        )

    def await_api(self, name: str, timeout: float = 60) -> None:
        """Wait until ``name``'s API answers on its port, and it is this API that listens there
        (not another test's server that took the port between choosing and binding). An API that
        could not bind its ports is started again on new ones, at most twice; one that died of
        anything else, or never answered, fails the test with its log."""
        for attempt in range(3):
            process = self.apis[name]
            wait_until(
                lambda p=process: (
                    p.poll() is not None or (self.answers(name) and self.listens(name))
                ),
                timeout=timeout,
            )
            if process.poll() is None and self.answers(name) and self.listens(name):
                return
            log = (self.data_dir / f"{name}-api.log").read_text(errors="replace")
            taken = "Address already in use" in log or "Connection in use" in log
            if process.poll() is not None and taken and attempt < 2:
                self.ports[name] = free_port()
                self.start_api(name, self._api_workers[name])
                continue
            raise AssertionError(f"{name} never answered; its log ends:\n{log[-3000:]}")

    def listens(self, name: str) -> bool:
        """Whether the socket listening on ``name``'s port is this API's (Linux /proc; True where
        there is no /proc to ask)."""
        if not Path("/proc/net/tcp").exists():
            return True
        inode = _listening_inode(self.ports[name])
        process = self.apis.get(name)
        return inode is not None and process is not None and _holds_socket(process.pid, inode)

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        metrics_port = free_port()
        process = self._spawn(
            f"{name}-worker", "worker", name, "--no-migrate", "--metrics-port", str(metrics_port)
        )
        self.workers[name].append(process)
        self.worker_metrics_ports[name].append(metrics_port)
        return process

    def start(self, workers: Iterable[str] | None = None) -> None:
        """Migrate, then an API per service and a worker for each of ``workers`` (default all)."""
        self.migrate()
        for name in self.services:
            self.start_api(name)
        for name in self.services if workers is None else workers:
            self.start_worker(name)
        for name in self.services:
            self.await_api(name)

    def answers(self, name: str) -> bool:
        try:
            return requests.get(f"{self.url(name)}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def ready(self, name: str) -> bool:
        try:
            return requests.get(f"{self.url(name)}/readyz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def readiness_detail(self, name: str) -> list[str] | None:
        """What a ready API reports as degraded (the broker), or None if it is not ready."""
        try:
            answer = requests.get(f"{self.url(name)}/readyz", timeout=5)
        except requests.RequestException:
            return None
        return answer.json().get("degraded", []) if answer.status_code == 200 else None

    @staticmethod
    def kill(process: subprocess.Popen[bytes]) -> None:
        """SIGKILL: no cleanup, no acknowledgement, no commit of what was in flight."""
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self) -> None:
        running = [*self.apis.values(), *(p for ps in self.workers.values() for p in ps)]
        for process in running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self._logs:
            log.close()
        if self.broker_url.startswith("amqp"):
            self.remove_broker_objects()

    def remove_broker_objects(self) -> None:
        topology = self.topology()
        with Connection(self.broker_url, connect_timeout=5) as connection:
            channel = connection.channel()
            for name in topology.subscriptions:
                for queue in topology.queue_names(name):
                    channel.queue_delete(queue)
            channel.queue_delete(topology.archive_name)
            channel.exchange_delete(self.exchange)

    def topology(self) -> Topology:
        from services.catalog import load_spec

        specs = [load_spec(name) for name in SERVICE_NAMES]
        return Topology.build(self.exchange, subscriptions(specs), self.settings.retry_delays)

    def log_text(self, label: str) -> str:
        path = self.data_dir / f"{label}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- HTTP ---------------------------------------------------------------------------------
    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def headers(self, who: tuple[str, ...], org: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(self.settings, who[0], who[1:], org=org)}"}

    def call(
        self,
        service: str,
        method: str,
        path: str,
        who: tuple[str, ...],
        body: Any = None,
        org: str | None = None,
        session: requests.Session | None = None,
        **query: Any,
    ) -> requests.Response:
        return (session or requests).request(
            method,
            f"{self.url(service)}{path}",
            json=body,
            params=query or None,
            headers=self.headers(who, org),
            timeout=10,
        )

    def casehub(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        """The operator's CLI, with this platform's environment."""
        return subprocess.run(
            [*CASEHUB, *arguments],
            cwd=ROOT,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=60,
        )


class DevProcess:
    """``casehub dev`` in its own process group, as a terminal runs it; its output read line by
    line on a thread so a test can wait for the banner and later read what it printed on exit."""

    def __init__(self, base_port: int, environment: Mapping[str, str]) -> None:
        self.process = subprocess.Popen(
            [*CASEHUB, "dev", "--no-demo-data", "--base-port", str(base_port)],
            cwd=ROOT,
            env=dict(environment),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        output = self.process.stdout
        threading.Thread(
            target=lambda: [self.lines.put(line) for line in output or ()], daemon=True
        ).start()

    def banner(self, timeout: float = 300) -> list[str]:
        """The lines up to "Ctrl-C stops everything"; fails with what was printed if it never comes."""
        banner: list[str] = []
        while not banner or "Ctrl-C stops everything" not in banner[-1]:
            try:
                banner.append(self.lines.get(timeout=timeout))
            except queue.Empty:
                raise AssertionError("casehub dev did not start:\n" + "".join(banner)) from None
        return banner

    def interrupt(self, wait: float = 120) -> str:
        """Ctrl-C in a terminal (SIGINT to the process group); the output printed while stopping."""
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get())
        return "".join(rest)


#: Where ``casehub dev`` instances of the tests go: below Linux's ephemeral range (32768-60999),
#: so no outgoing connection (a database or broker client) takes one of their ports meanwhile.
DEV_BASE_PORTS = range(20000, 28000)
DEV_BASE_PORT = SERVICE_PORTS[SERVICE_NAMES[0]]
MAIL_PORT = 1025


def dev_worker_ports(base: int) -> list[int]:
    """The workers' metrics ports, moved from 9101… as far as the base port moves from 8001."""
    return [WORKER_METRICS_PORTS[name] + base - DEV_BASE_PORT for name in SERVICE_NAMES]


def dev_ports() -> tuple[int, int]:
    """A ``--base-port`` for ``casehub dev`` with every port it takes free: the web app's just
    below it, one per service, the mail catcher's (moved from 1025 as far as the base moved)
    and each worker's; returns the base and the mail port."""
    while True:
        base = random.choice(DEV_BASE_PORTS)
        mail = MAIL_PORT + base - DEV_BASE_PORT
        ports = [
            base - 1,
            *(base + offset for offset in range(len(SERVICE_NAMES))),
            mail,
            *dev_worker_ports(base),
        ]
        if all(1024 <= port < 32768 and bindable(port) for port in ports):
            return base, mail
