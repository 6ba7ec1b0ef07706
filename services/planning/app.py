"""Wiring of the planning service: what the platform needs to run it."""

from __future__ import annotations

from pathlib import Path

from services.catalog import app_factory
from services.planning import operations
from services.planning.api import BLUEPRINTS
from services.planning.handlers import EVENT_HANDLERS
from services.planning.models import ERASURES, MESSAGING, Base
from services.planning.refusals import REFUSALS
from services.planning.settings import ReviewPolicy
from shared.service import PeriodicTask, ServiceRuntime, ServiceSpec
from shared.web.service_app import build_app


def announce_due_reviews(runtime: ServiceRuntime) -> int:
    with runtime.unit_of_work() as uow:
        return operations.announce_due_reviews(uow, runtime.clock.today(), runtime.clock.now())


def raise_scheduled_tasks(runtime: ServiceRuntime) -> int:
    """Consents entering their last 14 days become tasks (each once)."""
    with runtime.unit_of_work() as uow:
        operations.announce_expiring_consents(uow, runtime.clock.today())
    return 0


SERVICE = ServiceSpec(
    name="planning",
    title="Casehub planning",
    description=(
        "Individual service plans, goals, progress notes and reviews; casework: contacts, "
        "appointments, tasks and the worklist."
    ),
    metadata=Base.metadata,
    erased_among=ERASURES.erased_among,
    tables=MESSAGING,
    handlers=EVENT_HANDLERS,
    blueprints=BLUEPRINTS,
    build_app=build_app,
    bootstrap=lambda _runtime: ReviewPolicy.from_env(),
    refusals=REFUSALS,
    migrations=Path(__file__).parent / "migrations",
    periodic_tasks=[
        PeriodicTask("review-scheduler", 60, announce_due_reviews),
        PeriodicTask("task-scheduler", 300, raise_scheduled_tasks),
    ],
)


#: WSGI entry point, e.g. ``gunicorn 'services.planning.app:create_app()'``.
create_app = app_factory(SERVICE.name)
