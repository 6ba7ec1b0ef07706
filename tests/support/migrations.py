"""An older schema to test a migration against: a database at a given revision, and the service's
runtime on it once the rows of that time are in."""

from __future__ import annotations

from pathlib import Path

from services.catalog import load_spec, platform_topology
from shared.config import Settings
from shared.migrations import upgrade
from shared.service import ServiceRuntime
from tests.support.backends import Backend


def database_at(service: str, revision: str, backend: Backend, data_dir: Path) -> str:
    """A new database of the service, migrated only up to ``revision``; its URL."""
    spec = load_spec(service)
    url = backend.new_database(service, data_dir)
    upgrade(spec.migrations, url, revision)  # type: ignore[arg-type]
    return url


def runtime_on(service: str, url: str, backend: Backend, data_dir: Path) -> ServiceRuntime:
    """The service's runtime on that database (``runtime.migrate()`` runs the migration)."""
    settings = Settings(
        service=service,
        data_dir=data_dir,
        database_url=url,
        broker_url=backend.broker_url,
        broker_connect_timeout=2,
    )
    return ServiceRuntime(load_spec(service), settings, platform_topology(settings))
