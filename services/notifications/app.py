"""Wiring of the notifications service: what the platform needs to run it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from services.catalog import app_factory
from services.notifications import operations
from services.notifications.api import BLUEPRINTS
from services.notifications.channels import ChannelConfig, on_call_review
from services.notifications.handlers import EVENT_HANDLERS
from services.notifications.metrics import measure_crisis_alerts
from services.notifications.models import ERASURES, MESSAGING, Base
from shared.clock import SYSTEM_CLOCK
from shared.service import PeriodicTask, ServiceRuntime, ServiceSpec
from shared.web.service_app import build_app

#: One per worker process, run by its dispatcher thread only.
DISPATCHER = operations.Dispatcher(SYSTEM_CLOCK.now)


def channels(runtime: ServiceRuntime) -> ChannelConfig:
    """The channels' settings, read from the environment once per process."""
    return ChannelConfig.from_env(runtime.outbound)


def on_call_addresses(runtime: ServiceRuntime) -> Mapping[str, str | None]:
    """Escalation ends at the on-call mailboxes: a placeholder there loses crisis alerts."""
    return on_call_review(
        runtime.service_settings, embedded_default=runtime.settings.is_embedded_default
    )


def dispatch_due(runtime: ServiceRuntime) -> int:
    with runtime.units_of_work_on_one_connection() as unit_of_work:
        return DISPATCHER.run(unit_of_work, runtime.service_settings)


def escalate_due(runtime: ServiceRuntime) -> int:
    """A transaction per alert, one after another on one connection."""
    with runtime.units_of_work_on_one_connection() as unit_of_work:
        return operations.escalate_due(unit_of_work, runtime.service_settings, runtime.clock.now())


def remind_due(runtime: ServiceRuntime) -> int:
    """Appointment reminders due today, a transaction each (SKIP LOCKED across workers)."""
    with runtime.units_of_work_on_one_connection() as unit_of_work:
        return operations.remind_due(unit_of_work, runtime.service_settings, runtime.clock.now())


SERVICE = ServiceSpec(
    name="notifications",
    title="Casehub notifications",
    description="Notification rules, deliveries and crisis escalation.",
    metadata=Base.metadata,
    erased_among=ERASURES.erased_among,
    tables=MESSAGING,
    handlers=EVENT_HANDLERS,
    blueprints=BLUEPRINTS,
    build_app=build_app,
    bootstrap=channels,
    migrations=Path(__file__).parent / "migrations",
    periodic_tasks=[
        PeriodicTask("dispatcher", 1, dispatch_due, woken_by=operations.DISPATCH_NOW),
        PeriodicTask("escalator", 15, escalate_due),
        PeriodicTask("reminders", 60, remind_due),
    ],
    scrape_hooks=[measure_crisis_alerts],
    configuration_checks=[on_call_addresses],
)


#: WSGI entry point, e.g. ``gunicorn 'services.notifications.app:create_app()'``.
create_app = app_factory(SERVICE.name)
