"""A service's Flask app from its runtime: the shared factory, its checks and scrape-time figures."""

from __future__ import annotations

from flask import Flask, current_app

from shared.service import ServiceRuntime
from shared.web.app import create_service_app
from shared.web.problems import register_refusals


def build_app(runtime: ServiceRuntime) -> Flask:
    spec = runtime.spec
    app, _api = create_service_app(
        runtime.settings,
        title=spec.title,
        description=spec.description,
        blueprints=spec.blueprints,
        readiness_checks=runtime.readiness_checks(),
        # A configuration problem shows on the API's /readyz but keeps it in service.
        reported_checks={**runtime.reported_checks(), **runtime.configuration_checks()},
        scrape_hooks=runtime.scrape_hooks(),
    )
    app.extensions["casehub_runtime"] = runtime
    register_refusals(app, spec.refusals)
    if spec.configure_app is not None:
        spec.configure_app(app, runtime)

    return app


def current_runtime() -> ServiceRuntime:
    """The runtime of the service handling this request (database, unit of work, settings)."""
    return current_app.extensions["casehub_runtime"]
