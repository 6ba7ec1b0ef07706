"""What intake records from other services' events."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from services.intake.models import (
    Episode,
)
from shared.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    pass


def note_review_due(uow: UnitOfWork, episode_id: str, due_on: date) -> None:
    """Planning says a review is due: the caseload view orders by it."""
    episode = uow.session.get(Episode, episode_id)
    if episode is not None:
        episode.next_review_due = due_on
