"""What intake records from other services' events."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import or_, update

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


def note_contact(uow: UnitOfWork, episode_id: str, occurred_at: datetime) -> None:
    """Planning recorded a contact: the episode keeps the latest one by when it happened, so a
    redelivered or late-arriving older contact never moves it back. One conditional UPDATE, so
    two workers handling two contacts of one episode at once cannot lose the later one."""
    uow.session.execute(
        update(Episode)
        .where(
            Episode.id == episode_id,
            or_(Episode.last_contact_at.is_(None), Episode.last_contact_at < occurred_at),
        )
        .values(last_contact_at=occurred_at)
        .execution_options(synchronize_session=False)
    )
