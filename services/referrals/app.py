"""Wiring of the referrals service: what the platform needs to run it."""

from __future__ import annotations

from pathlib import Path

from services.catalog import app_factory
from services.referrals import operations
from services.referrals.api import BLUEPRINTS, accept_partner_api_keys
from services.referrals.handlers import EVENT_HANDLERS
from services.referrals.models import ERASURES, MESSAGING, Base
from services.referrals.refusals import REFUSALS
from services.referrals.settings import ReferralsSettings
from shared.service import PeriodicTask, ServiceRuntime, ServiceSpec
from shared.web.service_app import build_app


def deliver_webhooks(runtime: ServiceRuntime) -> int:
    return operations.deliver_webhooks(
        runtime.unit_of_work, runtime.clock.now, outbound=runtime.outbound
    )


def announce_overdue(runtime: ServiceRuntime) -> int:
    settings: ReferralsSettings = runtime.service_settings
    with runtime.unit_of_work() as uow:
        return operations.announce_overdue(uow, runtime.clock.now(), settings.response_time)


SERVICE = ServiceSpec(
    name="referrals",
    title="Casehub referrals",
    description="Resource directory, consent-checked referrals and partner access.",
    metadata=Base.metadata,
    erased_among=ERASURES.erased_among,
    tables=MESSAGING,
    handlers=EVENT_HANDLERS,
    blueprints=BLUEPRINTS,
    build_app=build_app,
    bootstrap=lambda _runtime: ReferralsSettings.from_env(),
    refusals=REFUSALS,
    migrations=Path(__file__).parent / "migrations",
    periodic_tasks=[
        PeriodicTask("partner-webhooks", 2, deliver_webhooks),
        PeriodicTask("overdue-referrals", 300, announce_overdue),
    ],
    configure_app=accept_partner_api_keys,
)


#: WSGI entry point, e.g. ``gunicorn 'services.referrals.app:create_app()'``.
create_app = app_factory(SERVICE.name)
