"""What an operator sees of real processes (gunicorn APIs, worker processes) on one crisis alert:

- metrics scraped as Prometheus would: an API's gunicorn workers summed by its master on a port
  of its own, each worker process on its own port, and every metric the operations guide, the
  READMEs and the alert rules name found on one of them;
- traces exported over OTLP/HTTP to a collector: the assessment's POST in intake's API, the
  publish in intake's worker, the handling in planning's and notifications' workers and the
  email, one trace id across five processes; the same id in the API's log line."""

from __future__ import annotations

import gzip
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from tests.reliability.conftest import HIGH_RISK, Workload, hire_case_managers, unpublished
from tests.support.backends import Backend
from tests.support.mail import Mailbox, start_smtp
from tests.support.platform import wait_until
from tests.support.processes import ProcessPlatform

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ["intake", "planning", "notifications"]
ADMIN = ("admin-1", "admin")
SUP = ("sup-1", "supervisor")
#: Where operators read metric names: the guides, and the alert rules and dashboard they load.
DOCUMENTS = [
    ROOT / "docs" / "operations.md",
    ROOT / "README.md",
    ROOT / "deploy" / "README.md",
    *sorted((ROOT / "deploy" / "observability").glob("*")),
]
_HISTOGRAM_PARTS = re.compile(r"_(bucket|count|sum)$")


def documented_metric_names() -> set[str]:
    names: set[str] = set()
    for document in DOCUMENTS:
        if document.is_file():
            names |= set(re.findall(r"\bcasehub_[a-z_]+[a-z]", document.read_text()))
    return {name for name in names if not name.startswith("casehub_test")}


def exposed_names(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            sample = re.split(r"[{ ]", line, maxsplit=1)[0]
            names |= {sample, _HISTOGRAM_PARTS.sub("", sample)}
    return names


def scrape(port: int) -> str:
    response = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert response.status_code == 200
    return response.text


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the sample named ``name`` with (at least) these labels."""
    for line in text.splitlines():
        named = line.startswith(f"{name}{{") or line.startswith(f"{name} ")
        if named and all(f'{key}="{value}"' in line for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


@dataclass(frozen=True)
class ExportedSpan:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str


class Collector:
    """An OTLP/HTTP trace receiver on loopback, keeping every span it is sent."""

    def __init__(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        self.spans: list[ExportedSpan] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest.FromString(body)
                for resource_spans in request.resource_spans:
                    service = next(
                        a.value.string_value
                        for a in resource_spans.resource.attributes
                        if a.key == "service.name"
                    )
                    for scope in resource_spans.scope_spans:
                        collector.spans.extend(
                            ExportedSpan(
                                service,
                                span.name,
                                span.trace_id.hex(),
                                span.span_id.hex(),
                                span.parent_span_id.hex(),
                            )
                            for span in scope.spans
                        )
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def named(self, name: str) -> list[ExportedSpan]:
        return [span for span in list(self.spans) if span.name == name]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def collector() -> Iterator[Collector]:
    running = Collector()
    yield running
    running.stop()


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    controller, mailbox, port = start_smtp()
    yield mailbox, port
    controller.stop()


@pytest.fixture
def platform(
    backend: Backend,
    real_only: None,
    data_dir: Path,
    mailbox: tuple[Mailbox, int],
    collector: Collector,
) -> Iterator[ProcessPlatform]:
    databases = {name: backend.new_database(name, data_dir) for name in SERVICES}
    running = ProcessPlatform(
        backend.broker_url,
        databases,
        data_dir,
        {
            "NOTIFICATIONS_SMTP_PORT": str(mailbox[1]),
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "CASEHUB_LOG_LEVEL": "INFO",
        },
    )
    running.migrate()
    running.start_api("intake", workers=2)
    for name in ("planning", "notifications"):
        running.start_api(name)
    for name in SERVICES:
        running.start_worker(name)
    for name in SERVICES:
        running.await_api(name)
    yield running
    running.stop()


@pytest.mark.slow
def test_a_crisis_alert_seen_by_an_operator_one_trace_and_metrics_from_every_process(
    platform: ProcessPlatform, mailbox: tuple[Mailbox, int], collector: Collector
) -> None:
    inbox, _ = mailbox
    hire_case_managers(platform)
    for person in ("cm-0", "sup-1"):
        saved = platform.call(
            "notifications",
            "PUT",
            f"/users/{person}/preferences",
            ADMIN,
            {"email": f"{person}@agency.example", "channels": ["email"]},
        )
        assert saved.status_code == 200, saved.text
    Workload(platform).run(0, 1, cssrs=HIGH_RISK, threads=1)
    assert wait_until(lambda: len(inbox.to("sup-1@agency.example")) >= 1, timeout=60)
    assert wait_until(lambda: unpublished(platform, "intake") == 0, timeout=30)

    # An API's own port does not serve /metrics: its master does, on the metrics port.
    assert requests.get(f"{platform.url('intake')}/metrics", timeout=5).status_code == 404
    reads = 12
    for _ in range(reads):
        assert platform.call("intake", "GET", "/case-managers", SUP).status_code == 200
    intake_api = scrape(platform.api_metrics_ports["intake"])
    # The master serves no request itself: this count is the two gunicorn workers' summed.
    assert (
        sample(
            intake_api,
            "casehub_http_request_duration_seconds_count",
            endpoint="/case-managers",
            method="GET",
            status="200",
        )
        == reads
    )
    assert sample(intake_api, "casehub_outbox_pending", service="intake") == 0

    workers: dict[str, str] = {}

    def drained() -> bool:
        """Scrape every worker until no outbox has an event waiting: planning writes events of
        its own while it handles intake's, so a scrape can land between its commit and its relay."""
        workers.update({name: scrape(platform.worker_metrics_ports[name][0]) for name in SERVICES})
        return all(
            sample(workers[name], "casehub_outbox_oldest_pending_seconds", service=name) == 0
            for name in SERVICES
        )

    assert wait_until(drained, timeout=30), "an outbox never drained"
    assert sample(workers["intake"], "casehub_events_published_total", service="intake")
    assert sample(
        workers["planning"],
        "casehub_events_consumed_total",
        service="planning",
        type="casehub.intake.risk.flagged.v1",
        outcome="handled",
    )
    for name in SERVICES:
        assert sample(workers[name], "casehub_consumer_connected", service=name) == 1
        assert sample(workers[name], "casehub_queue_messages", service=name, queue="dlq") == 0
        assert sample(workers[name], "casehub_outbox_oldest_pending_seconds", service=name) == 0
        for probe in ("healthz", "readyz"):
            answer = requests.get(
                f"http://127.0.0.1:{platform.worker_metrics_ports[name][0]}/{probe}", timeout=5
            )
            assert answer.status_code == 200, answer.text
    notifications = workers["notifications"]
    assert sample(notifications, "casehub_crisis_alerts_unacknowledged") == 1
    assert (sample(notifications, "casehub_crisis_alert_oldest_unacknowledged_seconds") or 0) > 0
    assert (
        sample(
            notifications,
            "casehub_notification_deliveries_failed_total",
            channel="email",
            urgency="urgent",
        )
        == 0
    )
    assert sample(notifications, "casehub_events_published_total", service="notifications")
    # The escalator runs in this worker; the alert was raised seconds ago, nothing escalated yet.
    for level in ("1", "2"):
        assert sample(notifications, "casehub_escalations_total", level=level) == 0
    assert sample(notifications, "casehub_escalations_failed_total") == 0

    everywhere = set().union(
        *(exposed_names(text) for text in workers.values()),
        *(exposed_names(scrape(port)) for port in platform.api_metrics_ports.values()),
    )
    documented = documented_metric_names()
    assert len(documented) >= 10, documented
    assert documented <= everywhere, sorted(documented - everywhere)

    # -- one trace, five processes ----------------------------------------------------------
    def emailed_in_trace() -> bool:
        return len(collector.named("send email")) >= 2 and bool(
            collector.named("process intake.risk.flagged.v1")
        )

    assert wait_until(emailed_in_trace, timeout=30)
    [post] = [
        span
        for span in collector.spans
        if span.service == "casehub-intake"
        and span.name.startswith("POST /clients/")
        and span.name.endswith("/assessments")
    ]
    in_trace = [span for span in collector.spans if span.trace_id == post.trace_id]
    by_id = {span.span_id: span for span in in_trace}
    [publish] = [span for span in in_trace if span.name == "publish intake.risk.flagged.v1"]
    assert publish.service == "casehub-intake" and publish.parent_span_id == post.span_id
    handled = {
        span.service: span for span in in_trace if span.name == "process intake.risk.flagged.v1"
    }
    assert set(handled) == {"casehub-planning", "casehub-notifications"}
    assert {span.parent_span_id for span in handled.values()} == {publish.span_id}
    emails = [span for span in in_trace if span.name == "send email"]
    assert len(emails) == 2  # the case manager's and the supervisor's crisis alerts
    assert all(by_id[email.parent_span_id] == handled["casehub-notifications"] for email in emails)
    assert any(span.name.startswith(("INSERT", "SELECT")) for span in in_trace)  # SQL spans

    access_lines = [
        json.loads(line)
        for line in platform.log_text("intake-api").splitlines()
        if line.startswith("{") and '"http_request"' in line and "/assessments" in line
    ]
    assert [line["trace_id"] for line in access_lines] == [post.trace_id]
