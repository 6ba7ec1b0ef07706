"""Events the reporting service consumes: every type in the contract registry, each archived and,
if a figure needs it, projected (routing key -> handler, as in every service)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.reporting.operations.projection import archive, project
from shared.contracts import REGISTRY, Event
from shared.messaging.consumer import Handler
from shared.unit_of_work import UnitOfWork


def event_handlers(now: Callable[[], datetime]) -> dict[str, Handler]:
    """One handler for every published type, so the archive misses nothing. ``now`` stamps the
    archive row (the clock is built once in app.py)."""

    def on_event(event: Event, uow: UnitOfWork) -> None:
        archive(uow.session, event, now())
        project(uow.session, event)

    return {contract.routing_key: on_event for contract in REGISTRY}
