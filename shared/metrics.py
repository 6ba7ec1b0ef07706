"""Prometheus metrics every service shares, so dashboards and alerts work the same for all four."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

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
    "Events received, by outcome: handled, duplicate, retried, dead_lettered.",
    ["service", "type", "outcome"],
)
EVENTS_PUBLISH_FAILED = Counter(
    "casehub_events_publish_failed_total",
    "Publish attempts that were not confirmed (nack, return, timeout, connection lost).",
    ["service", "reason"],
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


def render_metrics() -> tuple[bytes, str]:
    """Exposition body and content type; aggregates all gunicorn workers in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
