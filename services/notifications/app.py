"""Wiring of the notifications service: what the platform needs to run it."""

from __future__ import annotations

from pathlib import Path

from services.catalog import app_factory
from services.notifications.handlers import EVENT_HANDLERS
from services.notifications.models import MESSAGING, Base
from shared.service import ServiceSpec

SERVICE = ServiceSpec(
    name="notifications",
    title="Casehub notifications",
    description="Notification rules, deliveries and crisis escalation.",
    metadata=Base.metadata,
    tables=MESSAGING,
    handlers=EVENT_HANDLERS,
    blueprints=[],
    migrations=Path(__file__).parent / "migrations",
)


#: WSGI entry point, e.g. ``gunicorn 'services.notifications.app:create_app()'``.
create_app = app_factory(SERVICE.name)
