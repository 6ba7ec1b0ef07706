"""OpenTelemetry traces across services: a span for each HTTP request, SQL statement, event
published and event handled, one trace from a request through the outbox, the broker and every
consumer, carried by the envelope's ``traceparent`` (and the message's header).

Export is off unless configured: with ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) spans go over OTLP/HTTP, sampled as
``OTEL_TRACES_SAMPLER`` says (default: parent-based, always on). Without it trace ids are still
made and propagated (a request that came without a ``traceparent`` gets one of its own), so logs
and events of one request share a ``trace_id``, but no span is recorded and neither requests nor
SQL are instrumented: tracing then costs next to nothing."""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, Sampler
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

__all__ = ["SpanKind", "configure_tracing", "span", "start_span"]

from shared import context

TRACER_NAME = "casehub"
EXPORT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
#: Probes and scrapes every few seconds would be most of the traces and tell nothing.
UNTRACED_PATHS = "healthz,readyz,metrics"
_lock = threading.Lock()
_configured_in: int | None = None


def export_configured(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    return any(env.get(name) for name in EXPORT_VARIABLES)


def configure_tracing(service: str) -> None:
    """Once per process (a gunicorn worker calls it after the fork). A tracer provider already
    installed (a test's in-memory exporter) is kept."""
    global _configured_in
    with _lock:
        if _configured_in == os.getpid():
            return
        _configured_in = os.getpid()
        if isinstance(trace.get_tracer_provider(), TracerProvider):
            return
        resource = Resource.create({"service.name": f"casehub-{service}"})
        if export_configured():
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider = TracerProvider(resource=resource)  # sampler from OTEL_TRACES_SAMPLER
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        else:
            provider = TracerProvider(resource=resource, sampler=ALWAYS_OFF)
        trace.set_tracer_provider(provider)


def recording() -> bool:
    """True when spans are kept (an exporter or a test's provider samples them)."""
    provider = trace.get_tracer_provider()
    sampler: Sampler | None = getattr(provider, "sampler", None)
    return isinstance(provider, TracerProvider) and sampler is not ALWAYS_OFF


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def instrument_engine(engine: Any) -> None:
    """A span per SQL statement (its text with placeholders, never the bound values) when spans
    are recorded; otherwise nothing, as every statement would pay for a span nobody keeps."""
    if not recording():
        return
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import get_meter

    usage = get_meter(TRACER_NAME).create_up_down_counter("db.client.connections.usage")
    EngineTracer(trace.get_tracer("opentelemetry.instrumentation.sqlalchemy"), engine, usage)


def instrument_app(app: Any) -> None:
    """A server span per request, continuing the caller's ``traceparent`` if it sent one, when
    spans are recorded; otherwise nothing (a span nobody keeps cost each request 3 % of its CPU):
    the request context then carries the traceparent (``shared.web.request_context``)."""
    if not recording():
        return
    from opentelemetry.instrumentation.flask import FlaskInstrumentor

    FlaskInstrumentor().instrument_app(app, excluded_urls=UNTRACED_PATHS)


def new_traceparent() -> str:
    """A traceparent starting a trace of its own (not sampled: nothing records it here)."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"


def format_traceparent(span_context: trace.SpanContext) -> str:
    return (
        f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-"
        f"{int(span_context.trace_flags):02x}"
    )


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, for the envelope of an event raised now; else
    the one the request or message came with."""
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        return format_traceparent(span_context)
    return context.traceparent.get()


def trace_ids() -> dict[str, str]:
    """For log lines: the current span's trace and span ids, else those of the request's or
    event's traceparent (an event handled while spans are not recorded)."""
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        return {
            "trace_id": f"{span_context.trace_id:032x}",
            "span_id": f"{span_context.span_id:016x}",
        }
    parts = (context.traceparent.get() or "").split("-")
    if len(parts) == 4 and len(parts[1]) == 32 and len(parts[2]) == 16:
        return {"trace_id": parts[1], "span_id": parts[2]}
    return {}


def context_from(*traceparents: str | None) -> otel_context.Context | None:
    """The trace context of the first valid traceparent given (message header, then envelope)."""
    for traceparent in traceparents:
        if traceparent:
            extracted = extract({"traceparent": traceparent})
            if trace.get_current_span(extracted).get_span_context().is_valid:
                return extracted
    return None


def headers_for_current_span() -> dict[str, str]:
    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier


@contextmanager
def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    parent: otel_context.Context | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[Span]:
    """A span made current for the block; ``parent`` continues a trace from elsewhere (an event's
    traceparent). An exception marks it failed and goes on."""
    with tracer().start_as_current_span(
        name,
        context=parent,
        kind=kind,
        attributes=dict(attributes or {}),
        record_exception=True,
        set_status_on_exception=True,
    ) as current:
        token = context.traceparent.set(format_traceparent(current.get_span_context()))
        try:
            yield current
        finally:
            context.traceparent.reset(token)


def start_span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    parent: otel_context.Context | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Span:
    """A span not made current (the relay publishes a batch: one span per message, ended when
    the broker confirms it)."""
    return tracer().start_span(name, context=parent, kind=kind, attributes=dict(attributes or {}))


def end_span(span_: Span, *, failed: str | None = None) -> None:
    if failed is not None:
        span_.set_status(Status(StatusCode.ERROR, failed))
    span_.end()
