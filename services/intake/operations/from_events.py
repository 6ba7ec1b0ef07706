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


def note_review_due(
    uow: UnitOfWork, episode_id: str, due_on: date | None, noted_at: datetime
) -> None:
    """Planning set the plan's next review (an approval, a review falling due), or there is none
    now (the plan closed): the caseload shows it and orders by it. Events of one episode can
    arrive out of order (redelivery, several workers): one conditional UPDATE keeps what the
    latest of them, by when planning raised it, says."""
    uow.session.execute(
        update(Episode)
        .where(
            Episode.id == episode_id,
            or_(
                Episode.next_review_noted_at.is_(None),
                Episode.next_review_noted_at <= noted_at,
            ),
        )
        .values(next_review_due=due_on, next_review_noted_at=noted_at)
        .execution_options(synchronize_session=False)
    )


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
