"""Prometheus metrics every service shares, so dashboards and alerts work the same for all.

Every process exposes them: an API's gunicorn workers write them to files in
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode), so one scrape sums every
worker; a worker process serves its own on a port of its own (``MetricsServer``)."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

from shared.logging import get_logger

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
_log = get_logger(__name__)

HTTP_REQUEST_DURATION = Histogram(
    "casehub_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template (not raw path) and status.",
    ["service", "method", "endpoint", "status"],
)
EVENTS_PUBLISHED = Counter(
    "casehub_events_published_total",
    "Events the outbox relay published and the broker confirmed.",
    ["service", "type"],
)
EVENTS_CONSUMED = Counter(
    "casehub_events_consumed_total",
    "Events received, by outcome: handled, duplicate, skipped_erased, retried, dead_lettered.",
    ["service", "type", "outcome"],
)
EVENTS_PUBLISH_FAILED = Counter(
    "casehub_events_publish_failed_total",
    "Publish attempts that were not confirmed (nack, return, timeout, connection lost).",
    ["service", "reason"],
)
DEAD_LETTERS_DISCARDED = Counter(
    "casehub_dead_letters_discarded_total",
    "Dead letters an operator discarded (`casehub dlq discard`), each with a reason audited.",
    ["service", "type"],
)
OUTBOX_PENDING = Gauge(
    "casehub_outbox_pending",
    "Outbox rows written but not yet confirmed by the broker.",
    ["service"],
    multiprocess_mode="mostrecent",
)
OUTBOX_OLDEST_AGE = Gauge(
    "casehub_outbox_oldest_pending_seconds",
    "Age of the oldest unpublished outbox row: the event lag consumers see.",
    ["service"],
    multiprocess_mode="mostrecent",
)
DEPENDENCY_UP = Gauge(
    "casehub_dependency_up",
    "1 if the process reached the dependency (database, broker) at its last check, else 0.",
    ["service", "dependency"],
    multiprocess_mode="mostrecent",
)
CONSUMER_CONNECTED = Gauge(
    "casehub_consumer_connected",
    "1 while the worker's consumer is attached to its queue, 0 while it reconnects.",
    ["service"],
    multiprocess_mode="livemax",
)
QUEUE_MESSAGES = Gauge(
    "casehub_queue_messages",
    "Messages waiting in the service's queue (queue=events) and dead-letter queue (queue=dlq).",
    ["service", "queue"],
    multiprocess_mode="mostrecent",
)

CONFIGURATION_PROBLEM = Gauge(
    "casehub_configuration_problem",
    "1 while a setting a deployment must give (e.g. who is on call) is missing or a placeholder.",
    ["service", "setting"],
    multiprocess_mode="livemax",
)

#: Run before each scrape: figures read from the database or broker then, never stale.
ScrapeHook = Callable[[], None]


def use_multiprocess_dir(folder: Path) -> None:
    """Make this process and its forks (gunicorn workers) write metrics to ``folder``.

    Called by the gunicorn master before it forks: files left by an earlier run (a restarted
    container keeps its emptyDir) are removed, else its counts would be added to this run's."""
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob("*.db"):
        leftover.unlink(missing_ok=True)
    os.environ[MULTIPROC_VARIABLE] = str(folder)
    values.ValueClass = values.get_value_class()


def use_single_process() -> None:
    """A worker process keeps its metrics in memory, even if its environment (shared with the
    API in compose or a pod spec) names a multiprocess folder that is not its own."""
    os.environ.pop(MULTIPROC_VARIABLE, None)
    os.environ.pop(MULTIPROC_VARIABLE.lower(), None)
    values.ValueClass = values.get_value_class()


def process_exited(pid: int) -> None:
    """gunicorn's ``child_exit``: a dead worker's live gauges stop counting."""
    if os.environ.get(MULTIPROC_VARIABLE):
        multiprocess.mark_process_dead(pid)


def remove_multiprocess_dir(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def render_metrics(hooks: Iterable[ScrapeHook] = ()) -> tuple[bytes, str]:
    """Exposition body and content type; sums every gunicorn worker in multiprocess mode.

    A hook that fails (database away) is logged and skipped: the rest still answers."""
    for hook in hooks:
        try:
            hook()
        except Exception as error:
            name = getattr(hook, "__name__", repr(hook))
            _log.warning("metrics.scrape_hook_failed", hook=name, error=repr(error))
    if os.environ.get(MULTIPROC_VARIABLE):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


HealthCheck = Callable[[], tuple[bool, dict[str, str]]]


class MetricsServer:
    """``/metrics``, ``/healthz`` and ``/readyz`` on a port of their own, in a daemon thread: for a
    worker process, which serves no HTTP otherwise, and for the gunicorn master, so metrics are
    never on the port the public reaches."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        hooks: Iterable[ScrapeHook] = (),
        health: HealthCheck | None = None,
        readiness: HealthCheck | None = None,
    ) -> None:
        self.hooks = list(hooks)
        self.health = health or (lambda: (True, {}))
        self.readiness = readiness or self.health
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    body, content_type = render_metrics(server.hooks)
                    self._answer(HTTPStatus.OK, body, content_type)
                elif path in ("/healthz", "/readyz"):
                    check = server.health if path == "/healthz" else server.readiness
                    ok, details = check()
                    body = json.dumps(
                        {"status": "ok" if ok else "failing", "checks": details}
                    ).encode()
                    status = HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE
                    self._answer(status, body, "application/json")
                else:
                    self._answer(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

            def _answer(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Probes every few seconds would drown the JSON log; nothing to say."""

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="metrics-server", daemon=True
        )

    def start(self) -> MetricsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
