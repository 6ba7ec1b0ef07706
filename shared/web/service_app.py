"""A service's Flask app from its runtime: the shared factory plus outbox figures on /metrics."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress

import flask_smorest
from flask import Flask, request
from sqlalchemy.exc import SQLAlchemyError

from shared.service import ServiceRuntime
from shared.web.app import create_service_app


def build_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str,
    blueprints: Sequence[flask_smorest.Blueprint],
) -> Flask:
    app, _api = create_service_app(
        runtime.settings,
        title=title,
        description=description,
        blueprints=blueprints,
        readiness_checks=runtime.readiness_checks(),
    )
    app.extensions["casehub_runtime"] = runtime

    @app.before_request
    def measure_outbox_before_scrape() -> None:
        """Outbox lag is read from the database when Prometheus scrapes, never stale."""
        if request.path == "/metrics":
            with suppress(SQLAlchemyError):  # /readyz reports the database; /metrics still answers
                runtime.measure_outbox()

    return app
