"""One crisis alert is one trace: the assessment's POST, its SQL, the event's publish by the
relay, its handling by each consumer and the email all share a trace id, carried through the
outbox row's envelope and the message's header (spans kept by an in-memory exporter)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from opentelemetry.util._once import Once

from shared import tracing
from tests.support.backends import Backend
from tests.support.journey import admit_client, bearer
from tests.support.mail import Mailbox, start_smtp
from tests.support.platform import wait_until
from tests.support.services import RunningServices

HIGH_RISK = {
    "wish_to_be_dead": True,
    "suicidal_thoughts": True,
    "method": True,
    "intent": True,
    "plan_with_intent": True,
}
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """A recording tracer provider for this test only (the global one can be set once per
    process: swapped the way OpenTelemetry's own tests do, and put back afterwards)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    saved = trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace.set_tracer_provider(provider)
    yield exporter
    provider.shutdown()
    trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE = saved
    tracing._configured_in = None  # the next app configures tracing afresh


@pytest.fixture
def mailbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    controller, mailbox, port = start_smtp()
    monkeypatch.setenv("NOTIFICATIONS_SMTP_PORT", str(port))
    yield mailbox
    controller.stop()


@pytest.fixture
def services(
    spans: InMemorySpanExporter, backend: Backend, data_dir: Path, mailbox: Mailbox
) -> Iterator[RunningServices]:
    running = RunningServices(backend, data_dir, ["intake", "planning", "notifications"])
    yield running
    running.shutdown()


def _named(spans: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


def test_a_crisis_alert_is_one_trace_from_the_assessment_post_to_the_email(
    services: RunningServices, spans: InMemorySpanExporter, mailbox: Mailbox
) -> None:
    assert tracing.recording()
    intake, notifications = services["intake"], services["notifications"]
    intake_http = intake.create_app().test_client()
    notifications_http = notifications.create_app().test_client()
    for person in ("cm-1", "sup-1"):
        saved = notifications_http.put(
            f"/users/{person}/preferences",
            headers=bearer(intake.settings, "admin-1", "admin"),
            json={"email": f"{person}@agency.example", "channels": ["email"]},
        )
        assert saved.status_code == 200, saved.json
    client = admit_client(intake_http, intake.settings)
    spans.clear()

    # The caller (the web app, a gateway) sent its own trace: Casehub continues it.
    assessed = intake_http.post(
        f"/clients/{client['id']}/assessments",
        headers={
            **bearer(intake.settings, "cm-1", "case_manager"),
            "traceparent": f"00-{CALLER_TRACE}-00f067aa0ba902b7-01",
        },
        json={
            "domains": {"housing": {"rating": "unmet_need"}},
            "phq9": {"items": [3] * 9},
            "cssrs": HIGH_RISK,
        },
    )
    assert assessed.status_code == 201, assessed.json
    services.start_workers()
    assert wait_until(lambda: len(mailbox.to("sup-1@agency.example")) >= 1, timeout=45)

    def traced_to_the_end() -> bool:
        finished = spans.get_finished_spans()
        handled_by = {
            span.attributes["casehub.service"]
            for span in _named(finished, "process intake.risk.flagged.v1")
        }
        urgent = [
            span
            for span in _named(finished, "send email")
            if span.attributes["casehub.urgency"] == "urgent"
        ]
        return len(urgent) >= 2 and handled_by == {
            "planning",
            "notifications",
        }

    assert wait_until(traced_to_the_end, timeout=30)

    finished = list(spans.get_finished_spans())
    by_id = {span.context.span_id: span for span in finished}
    [post] = [s for s in finished if s.kind == SpanKind.SERVER and "assessments" in s.name]
    trace_id = post.context.trace_id
    assert f"{trace_id:032x}" == CALLER_TRACE
    sql = [s for s in finished if s.kind == SpanKind.CLIENT and s.attributes.get("db.system")]
    assert any(
        s.context.trace_id == trace_id and s.parent.span_id == post.context.span_id for s in sql
    )
    assert not any("Alex" in str(s.attributes) or "Rivera" in str(s.attributes) for s in finished)

    [publish] = _named(finished, "publish intake.risk.flagged.v1")
    assert publish.kind == SpanKind.PRODUCER and publish.context.trace_id == trace_id
    assert publish.parent.span_id == post.context.span_id  # raised by the request

    handled = _named(finished, "process intake.risk.flagged.v1")
    assert {span.attributes["casehub.service"] for span in handled} == {"planning", "notifications"}
    for span in handled:
        assert span.kind == SpanKind.CONSUMER and span.context.trace_id == trace_id
        assert span.parent.span_id == publish.context.span_id  # across the broker

    # (the case manager's "new client" email, sent meanwhile, belongs to the assignment's trace)
    emails = [
        s for s in _named(finished, "send email") if s.attributes["casehub.urgency"] == "urgent"
    ]
    assert len(emails) >= 2  # case manager and supervisor
    for email in emails:
        assert email.context.trace_id == trace_id
        assert by_id[email.parent.span_id].name == "process intake.risk.flagged.v1"


def _tracing_in_a_fresh_process(environment: dict[str, str]) -> list[str]:
    """What a new process (its own global tracer provider) does with this environment."""
    import os
    import subprocess
    import sys

    script = (
        "from shared.tracing import configure_tracing, recording, tracer, trace_ids\n"
        "from opentelemetry import trace\n"
        "configure_tracing('intake')\n"
        "span = tracer().start_span('a')\n"
        "with trace.use_span(span):\n"
        "    print(recording(), span.is_recording(), bool(trace_ids().get('trace_id')))\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**clean, **environment},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.split()


def test_export_is_off_unless_an_otlp_endpoint_is_configured() -> None:
    # nothing recorded, but every log line still gets a trace id
    assert _tracing_in_a_fresh_process({}) == ["False", "False", "True"]
    configured = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1",
        "OTEL_BSP_SCHEDULE_DELAY": "60000",
    }
    assert _tracing_in_a_fresh_process(configured) == ["True", "True", "True"]
