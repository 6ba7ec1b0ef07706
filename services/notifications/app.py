"""Wiring of the notifications service: its description for the platform and its Flask app."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.notifications.handlers import EVENT_HANDLERS
from services.notifications.models import MESSAGING, Base
from shared.service import ServiceRuntime, ServiceSpec
from shared.web.service_app import build_app


def create_app(runtime: ServiceRuntime) -> Flask:
    return build_app(
        runtime,
        title="Casehub notifications",
        description="Notification rules, deliveries and crisis escalation.",
        blueprints=[],
    )


SERVICE = ServiceSpec(
    name="notifications",
    metadata=Base.metadata,
    tables=MESSAGING,
    handlers=EVENT_HANDLERS,
    create_app=create_app,
    migrations=Path(__file__).parent / "migrations",
)
