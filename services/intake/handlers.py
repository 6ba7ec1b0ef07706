"""Events the intake service consumes, each mapped to a plain function (routing key -> handler)."""

from __future__ import annotations

from datetime import date

from services.intake import operations
from shared.contracts import Event
from shared.messaging.consumer import Handler
from shared.unit_of_work import UnitOfWork


def on_review_due(event: Event, uow: UnitOfWork) -> None:
    due_on = event.data["due_on"]
    operations.note_review_due(
        uow,
        event.data["episode_id"],
        date.fromisoformat(due_on) if isinstance(due_on, str) else due_on,
    )


EVENT_HANDLERS: dict[str, Handler] = {
    "planning.review.due.v1": on_review_due,
}
