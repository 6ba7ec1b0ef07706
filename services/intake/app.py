"""Wiring of the intake service: its description for the platform and its Flask app."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.intake.handlers import EVENT_HANDLERS
from services.intake.models import MESSAGING, Base
from shared.service import ServiceRuntime, ServiceSpec
from shared.web.service_app import build_app


def create_app(runtime: ServiceRuntime) -> Flask:
    return build_app(
        runtime,
        title="Casehub intake",
        description="Clients, consent, assessments, risk flags and caseload assignment.",
        blueprints=[],
    )


SERVICE = ServiceSpec(
    name="intake",
    metadata=Base.metadata,
    tables=MESSAGING,
    handlers=EVENT_HANDLERS,
    create_app=create_app,
    migrations=Path(__file__).parent / "migrations",
)
