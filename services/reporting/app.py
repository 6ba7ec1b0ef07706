"""Wiring of the reporting service: a read model of every event, with its archive."""

from __future__ import annotations

from pathlib import Path

from services.catalog import app_factory
from services.reporting.api import BLUEPRINTS, install_clock
from services.reporting.handlers import event_handlers
from services.reporting.models import MESSAGING, Base
from services.reporting.operations.rebuild import rebuild
from shared.db import utc_now
from shared.service import ServiceRuntime, ServiceSpec

#: The service's clock, built once: the API dates "today" with it.
now = utc_now


def rebuild_read_model(runtime: ServiceRuntime) -> str:
    """``casehub reporting rebuild``: the read model thrown away and replayed from the archive."""
    result = rebuild(runtime)
    failed = f", {len(result.failed_event_ids)} failed" if result.failed_event_ids else ""
    return (
        f"reporting: replayed {result.events} archived events up to offset "
        f"{result.last_offset}: {result.projected} projected, {result.already_handled} already "
        f"handled, {result.skipped} not for reporting{failed}"
    )


SERVICE = ServiceSpec(
    name="reporting",
    title="Casehub reporting",
    description="Supervisor KPIs, outcomes and funder reports from the event stream alone, "
    "rebuildable from its event archive.",
    metadata=Base.metadata,
    tables=MESSAGING,
    handlers=event_handlers(),
    blueprints=BLUEPRINTS,
    migrations=Path(__file__).parent / "migrations",
    configure_app=install_clock(now),
    maintenance={"rebuild": rebuild_read_model},
)


#: WSGI entry point, e.g. ``gunicorn 'services.reporting.app:create_app()'``.
create_app = app_factory(SERVICE.name)
