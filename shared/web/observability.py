"""Health, readiness and metrics endpoints, identical in every service for probes and scrapers."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from flask import Flask, Response, g, jsonify, request

from shared.health import run_readiness_checks
from shared.logging import get_logger
from shared.metrics import HTTP_REQUEST_DURATION, ScrapeHook, render_metrics
from shared.web.problems import Problem

UNMATCHED_ENDPOINT = "<unmatched>"
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_log = get_logger(__name__)


def register_observability(
    app: Flask,
    service: str,
    readiness_checks: Mapping[str, Callable[[], None]],
    reported_checks: Mapping[str, Callable[[], None]] | None = None,
    *,
    serve_metrics: bool = True,
    scrape_hooks: Sequence[ScrapeHook] = (),
) -> None:
    """Add /healthz, /readyz and (unless metrics have a port of their own) /metrics, and time
    every request by route template.

    ``readiness_checks`` decide readiness (the service's database); ``reported_checks`` are only
    reported in /readyz and the ``casehub_dependency_up`` gauge (the broker: while it is away
    the outbox holds every write, so taking the API out of service would only lose requests)."""
    reported = dict(reported_checks or {})

    def healthz() -> Response:
        return jsonify(status="ok", service=service)

    def readyz() -> Response:
        required = run_readiness_checks(readiness_checks, service)
        results = {**required, **run_readiness_checks(reported, service)}
        failing = sorted(name for name, result in required.items() if result != "ok")
        if failing:
            raise Problem(
                503, detail=f"Not ready: {', '.join(failing)} unreachable.", checks=results
            )
        degraded = sorted(name for name, result in results.items() if result != "ok")
        return jsonify(
            status="degraded" if degraded else "ready",
            service=service,
            checks=results,
            **({"degraded": degraded} if degraded else {}),
        )

    def metrics() -> Response:
        body, content_type = render_metrics(scrape_hooks)
        return Response(body, content_type=content_type)

    app.add_url_rule("/healthz", "healthz", healthz, methods=["GET"])
    app.add_url_rule("/readyz", "readyz", readyz, methods=["GET"])
    if serve_metrics:
        app.add_url_rule("/metrics", "metrics", metrics, methods=["GET"])
    time_requests(app, service)


def time_requests(app: Flask, service: str) -> None:
    """Time every request by route template (``casehub_http_request_duration_seconds``): the
    services' APIs and the web app alike, so one alert covers both."""

    @app.before_request
    def start_timer() -> None:
        g.casehub_metrics_started = time.perf_counter()

    @app.after_request
    def observe_duration(response: Response) -> Response:
        started = g.get("casehub_metrics_started")
        if started is not None:
            rule = request.url_rule.rule if request.url_rule is not None else UNMATCHED_ENDPOINT
            HTTP_REQUEST_DURATION.labels(
                service=service,
                method=request.method if request.method in _KNOWN_METHODS else "OTHER",
                endpoint=rule,
                status=str(response.status_code),
            ).observe(time.perf_counter() - started)
        return response
