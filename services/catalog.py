"""The platform's list of services, loaded by name (services never import each other)."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from typing import Any

from shared.config import SERVICE_NAMES, Settings
from shared.messaging.topology import Topology
from shared.service import FrontendSpec, ServiceRuntime, ServiceSpec, subscriptions

#: Browser apps in front of the services (they handle no events).
FRONTEND_NAMES: tuple[str, ...] = ("web",)


def load_spec(name: str) -> ServiceSpec:
    if name not in SERVICE_NAMES:
        raise KeyError(f"unknown service {name!r}; choose from {', '.join(SERVICE_NAMES)}")
    spec: ServiceSpec = importlib.import_module(f"services.{name}.app").SERVICE
    if spec.build_app is None and spec.blueprints:
        # A service whose spec names blueprints but not how to build its app gets the shared
        # one (each service's app.py normally says ``build_app=build_app`` itself).
        from shared.web.service_app import build_app

        spec = dataclasses.replace(spec, build_app=build_app)
    return spec


def load_frontend(name: str) -> FrontendSpec:
    if name not in FRONTEND_NAMES:
        raise KeyError(f"unknown browser app {name!r}; choose from {', '.join(FRONTEND_NAMES)}")
    frontend: FrontendSpec = importlib.import_module(f"services.{name}.app").FRONTEND
    return frontend


def platform_topology(settings: Settings) -> Topology:
    """Every process declares the whole topology, so no event is unroutable for lack of a queue."""
    return Topology.build(
        settings.exchange,
        subscriptions([load_spec(name) for name in SERVICE_NAMES]),
        settings.retry_delays,
        settings.delivery_limit,
        settings.queue_prefix,
        settings.archive_max_age,
        settings.archive_max_bytes,
    )


def runtime_for(name: str, settings: Settings | None = None) -> ServiceRuntime:
    settings = settings or Settings.from_env(name)
    return ServiceRuntime(load_spec(name), settings, platform_topology(settings))


def app_factory(name: str) -> Callable[[Settings | None], Any]:
    """A ``create_app(settings=None)`` for WSGI servers: configuration from the environment."""

    def create_app(settings: Settings | None = None) -> Any:
        return runtime_for(name, settings).create_app()

    return create_app
