"""Wiring of the referrals service: what the platform needs to run it."""

from __future__ import annotations

from pathlib import Path

from services.catalog import app_factory
from services.referrals.handlers import EVENT_HANDLERS
from services.referrals.models import MESSAGING, Base
from shared.service import ServiceSpec

SERVICE = ServiceSpec(
    name="referrals",
    title="Casehub referrals",
    description="Resource directory, consent-checked referrals and partner access.",
    metadata=Base.metadata,
    tables=MESSAGING,
    handlers=EVENT_HANDLERS,
    blueprints=[],
    migrations=Path(__file__).parent / "migrations",
)


#: WSGI entry point, e.g. ``gunicorn 'services.referrals.app:create_app()'``.
create_app = app_factory(SERVICE.name)
