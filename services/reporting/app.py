"""Wiring of the reporting service: a read model of every event, with its archive."""

from __future__ import annotations

from pathlib import Path

from services.catalog import app_factory
from services.reporting.api import BLUEPRINTS, install_clock
from services.reporting.handlers import event_handlers
from services.reporting.models import MESSAGING, Base
from shared.db import utc_now
from shared.service import ServiceSpec

#: The service's clock, built once: handlers stamp archive rows with it, the API dates "today".
now = utc_now

SERVICE = ServiceSpec(
    name="reporting",
    title="Casehub reporting",
    description="Supervisor KPIs, outcomes and funder reports from the event stream alone, "
    "rebuildable from its event archive.",
    metadata=Base.metadata,
    tables=MESSAGING,
    handlers=event_handlers(now),
    blueprints=BLUEPRINTS,
    migrations=Path(__file__).parent / "migrations",
    configure_app=install_clock(now),
)


#: WSGI entry point, e.g. ``gunicorn 'services.reporting.app:create_app()'``.
create_app = app_factory(SERVICE.name)
