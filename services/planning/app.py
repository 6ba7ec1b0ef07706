"""Wiring of the planning service: what the platform needs to run it."""

from __future__ import annotations

from pathlib import Path

from services.catalog import app_factory
from services.planning.handlers import EVENT_HANDLERS
from services.planning.models import MESSAGING, Base
from shared.service import ServiceSpec

SERVICE = ServiceSpec(
    name="planning",
    title="Casehub planning",
    description="Individual service plans, goals, progress notes and reviews.",
    metadata=Base.metadata,
    tables=MESSAGING,
    handlers=EVENT_HANDLERS,
    blueprints=[],
    migrations=Path(__file__).parent / "migrations",
)


#: WSGI entry point, e.g. ``gunicorn 'services.planning.app:create_app()'``.
create_app = app_factory(SERVICE.name)
