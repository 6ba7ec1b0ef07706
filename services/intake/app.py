"""Wiring of the intake service: what the platform needs to run it."""

from __future__ import annotations

from pathlib import Path

from services.catalog import app_factory
from services.intake.handlers import EVENT_HANDLERS
from services.intake.models import MESSAGING, Base
from shared.service import ServiceSpec

SERVICE = ServiceSpec(
    name="intake",
    title="Casehub intake",
    description="Clients, consent, assessments, risk flags and caseload assignment.",
    metadata=Base.metadata,
    tables=MESSAGING,
    handlers=EVENT_HANDLERS,
    blueprints=[],
    migrations=Path(__file__).parent / "migrations",
)


#: WSGI entry point, e.g. ``gunicorn 'services.intake.app:create_app()'``.
create_app = app_factory(SERVICE.name)
