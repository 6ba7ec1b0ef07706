"""Wiring of the intake service: what the platform needs to run it."""

from __future__ import annotations

from pathlib import Path

from services.catalog import app_factory
from services.intake import operations
from services.intake.api import BLUEPRINTS
from services.intake.handlers import EVENT_HANDLERS
from services.intake.models import MESSAGING, Base
from services.intake.refusals import REFUSALS
from services.intake.settings import reassessment_policy
from shared.service import PeriodicTask, ServiceRuntime, ServiceSpec
from shared.web.service_app import build_app


def announce_expired_consents(runtime: ServiceRuntime) -> int:
    with runtime.unit_of_work() as uow:
        return operations.announce_expired_consents(uow, runtime.clock.today(), runtime.clock.now())


def expire_retention(runtime: ServiceRuntime) -> int:
    with runtime.unit_of_work() as uow:
        return operations.expire_due(uow, runtime.clock.now(), runtime.settings.retention_years)


def announce_due_reassessments(runtime: ServiceRuntime) -> int:
    with runtime.unit_of_work() as uow:
        return operations.announce_due_reassessments(
            uow, runtime.clock.today(), runtime.clock.now(), reassessment_policy()
        )


SERVICE = ServiceSpec(
    name="intake",
    title="Casehub intake",
    description="Clients, consent, assessments, risk flags and caseload assignment.",
    metadata=Base.metadata,
    erased_among=operations.erased_among,
    tables=MESSAGING,
    handlers=EVENT_HANDLERS,
    blueprints=BLUEPRINTS,
    build_app=build_app,
    refusals=REFUSALS,
    migrations=Path(__file__).parent / "migrations",
    periodic_tasks=[
        PeriodicTask("consent-expiry", 300, announce_expired_consents),
        PeriodicTask("retention", 3600, expire_retention),
        PeriodicTask("reassessment-scheduler", 300, announce_due_reassessments),
    ],
)


#: WSGI entry point, e.g. ``gunicorn 'services.intake.app:create_app()'``.
create_app = app_factory(SERVICE.name)
