"""A service's Flask app from its runtime: the shared factory plus outbox figures on /metrics."""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING

from flask import Flask, current_app, request
from sqlalchemy.exc import SQLAlchemyError

from shared.web.app import create_service_app

if TYPE_CHECKING:
    from shared.service import ServiceRuntime


def build_app(runtime: ServiceRuntime) -> Flask:
    spec = runtime.spec
    app, _api = create_service_app(
        runtime.settings,
        title=spec.title,
        description=spec.description,
        blueprints=spec.blueprints,
        readiness_checks=runtime.readiness_checks(),
    )
    app.extensions["casehub_runtime"] = runtime
    if spec.configure_app is not None:
        spec.configure_app(app, runtime)

    @app.before_request
    def measure_outbox_before_scrape() -> None:
        """Outbox lag is read from the database when Prometheus scrapes, never stale."""
        if request.path == "/metrics":
            with suppress(SQLAlchemyError):  # /readyz reports the database; /metrics still answers
                runtime.measure_outbox()

    return app


def current_runtime() -> ServiceRuntime:
    """The runtime of the service handling this request (database, unit of work, settings)."""
    return current_app.extensions["casehub_runtime"]
