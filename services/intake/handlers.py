"""Events the intake service consumes, each mapped to a plain function (routing key -> handler)."""

from __future__ import annotations

from services.intake import operations
from shared.contracts import REGISTRY, Event
from shared.messaging.consumer import Handler
from shared.unit_of_work import UnitOfWork


def on_review_due(event: Event, uow: UnitOfWork) -> None:
    """A review fell due, or was brought forward (after a crisis): the caseload shows its date."""
    values = REGISTRY.load(event.type, event.data)
    operations.note_review_due(uow, values["episode_id"], values["due_on"], event.time)


def on_client_erased(event: Event, uow: UnitOfWork) -> None:
    """A service reports what it erased when the client's retention ran out."""
    values = REGISTRY.load(event.type, event.data)
    operations.record_erasure_report(uow, event.type.split(".")[1], values, values["erased_at"])


def on_inbound_referral(event: Event, uow: UnitOfWork) -> None:
    """A partner referred someone to the agency: a new request in intake's list."""
    operations.record_referral_request(uow, REGISTRY.load(event.type, event.data))


def on_plan_approved(event: Event, uow: UnitOfWork) -> None:
    """The caseload shows the next review from the plan's approval on, not only once it is due."""
    values = REGISTRY.load(event.type, event.data)
    operations.note_review_due(uow, values["episode_id"], values["next_review_due"], event.time)


def on_plan_closed(event: Event, uow: UnitOfWork) -> None:
    """A closed plan has no review to hold: the caseload stops showing one (a review it still
    showed would turn "overdue" on a plan nobody works to)."""
    values = REGISTRY.load(event.type, event.data)
    operations.note_review_due(uow, values["episode_id"], None, event.time)


def on_contact_recorded(event: Event, uow: UnitOfWork) -> None:
    """The caseload shows each client's last contact."""
    values = REGISTRY.load(event.type, event.data)
    operations.note_contact(uow, values["episode_id"], values["occurred_at"])


EVENT_HANDLERS: dict[str, Handler] = {
    "planning.review.due.v1": on_review_due,
    "planning.review.scheduled.v1": on_review_due,
    "planning.client.erased.v1": on_client_erased,
    "referrals.client.erased.v1": on_client_erased,
    "notifications.client.erased.v1": on_client_erased,
    "referrals.inbound_referral.received.v1": on_inbound_referral,
    "planning.plan.approved.v1": on_plan_approved,
    "planning.plan.closed.v1": on_plan_closed,
    "planning.contact.recorded.v1": on_contact_recorded,
}
