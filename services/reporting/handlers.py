"""Events the reporting service consumes: every type in the contract registry, each projected
if a figure needs it (routing key -> handler, as in every service). The platform's event archive
keeps them all for a rebuild (``shared.messaging.archive``)."""

from __future__ import annotations

from services.reporting.operations.projection import project
from shared.contracts import REGISTRY, Event
from shared.messaging.consumer import Handler
from shared.unit_of_work import UnitOfWork


def on_event(event: Event, uow: UnitOfWork) -> None:
    project(uow.session, event)


def event_handlers() -> dict[str, Handler]:
    """One handler for every published type: a figure added later finds its events on rebuild."""
    return {contract.routing_key: on_event for contract in REGISTRY}
