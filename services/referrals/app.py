"""Wiring of the referrals service: its description for the platform and its Flask app."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.referrals.handlers import EVENT_HANDLERS
from services.referrals.models import MESSAGING, Base
from shared.service import ServiceRuntime, ServiceSpec
from shared.web.service_app import build_app


def create_app(runtime: ServiceRuntime) -> Flask:
    return build_app(
        runtime,
        title="Casehub referrals",
        description="Resource directory, consent-checked referrals and partner access.",
        blueprints=[],
    )


SERVICE = ServiceSpec(
    name="referrals",
    metadata=Base.metadata,
    tables=MESSAGING,
    handlers=EVENT_HANDLERS,
    create_app=create_app,
    migrations=Path(__file__).parent / "migrations",
)
