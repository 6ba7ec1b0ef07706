"""Events the referrals service consumes, each mapped to a plain function (routing key -> handler).
The runtime hands each one the settings and the clock built once in ``app.py``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from services.referrals import operations
from services.referrals.events import ClientErased
from services.referrals.models import ERASURES, Base
from services.referrals.settings import ReferralsSettings
from shared.clock import Clock
from shared.contracts import REGISTRY, Event
from shared.messaging.subscription import Subscription
from shared.retention import retention_expired_handler
from shared.unit_of_work import UnitOfWork


def on_consent_granted(
    event: Event, uow: UnitOfWork, *, settings: ReferralsSettings, clock: Clock
) -> None:
    operations.record_consent(uow, REGISTRY.values(event))


def on_consents_granted(
    events: Sequence[Event], uow: UnitOfWork, *, settings: ReferralsSettings, clock: Clock
) -> None:
    """A busy intake's grants arrive in runs: the consumer hands them over together."""
    operations.record_consents(uow, [REGISTRY.values(event) for event in events])


def on_consent_revoked(
    event: Event, uow: UnitOfWork, *, settings: ReferralsSettings, clock: Clock
) -> None:
    operations.record_revocation(uow, event.data, clock.now())


def on_referral_request_decided(
    event: Event, uow: UnitOfWork, *, settings: ReferralsSettings, clock: Clock
) -> None:
    """Intake worked a partner's referral to the agency: the partner is told."""
    operations.record_decision(uow, REGISTRY.values(event), clock.now())


def on_case_assigned(
    event: Event, uow: UnitOfWork, *, settings: ReferralsSettings, clock: Clock
) -> None:
    operations.record_assignment(uow, event.data)


def on_case_manager_updated(
    event: Event, uow: UnitOfWork, *, settings: ReferralsSettings, clock: Clock
) -> None:
    operations.record_team_change(uow, event.data)


def on_client_discharged(
    event: Event, uow: UnitOfWork, *, settings: ReferralsSettings, clock: Clock
) -> None:
    operations.record_discharge(uow, event.data, clock.now())


def on_referral_requested(
    event: Event, uow: UnitOfWork, *, settings: ReferralsSettings, clock: Clock
) -> None:
    operations.draft_from_strategy(uow, event.data, clock.now())


EVENT_HANDLERS: dict[str, Callable[..., None]] = {
    "intake.client.retention_expired.v1": retention_expired_handler(
        Base.metadata, ERASURES, ClientErased
    ),
    "intake.consent.granted.v1": Subscription(on_consent_granted, batch=on_consents_granted),
    "intake.consent.revoked.v1": on_consent_revoked,
    "intake.case.assigned.v1": on_case_assigned,
    "intake.case_manager.updated.v1": on_case_manager_updated,
    "intake.client.discharged.v1": on_client_discharged,
    "planning.strategy.referral_requested.v1": on_referral_requested,
    "intake.referral_request.decided.v1": on_referral_request_decided,
}
