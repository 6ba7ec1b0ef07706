"""Possible duplicate registrations: the supervisor's review, and merging a duplicate."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, select

from services.intake import domain
from services.intake.models import (
    AUDIT,
    Client,
    DuplicateReview,
)
from services.intake.operations.access import (
    visible_clients,
)
from services.intake.operations.episodes import close_episode
from shared.errors import Conflict, NotFound
from shared.identity import Principal
from shared.pagination import Page, keyset_page
from shared.unit_of_work import UnitOfWork


def _reviewable(actor: Principal) -> ColumnElement[bool]:
    """A supervisor reviews the pairs whose two records they may both see; an admin every pair."""
    visible = select(Client.id).where(visible_clients(actor))
    return and_(
        DuplicateReview.new_client_id.in_(visible),
        DuplicateReview.existing_client_id.in_(visible),
    )


def list_duplicate_reviews(
    uow: UnitOfWork, actor: Principal, *, status: str | None, limit: int, cursor: str | None
) -> Page[DuplicateReview]:
    statement = select(DuplicateReview).where(_reviewable(actor))
    if status:
        statement = statement.where(DuplicateReview.status == status)
    page = keyset_page(
        uow.session,
        statement,
        [DuplicateReview.flagged_at, DuplicateReview.id],
        limit=limit,
        cursor=cursor,
    )
    for review in page.items:
        for client_id in (review.new_client_id, review.existing_client_id):
            AUDIT.record(
                uow.session, actor, "read", "duplicate_review", review.id, client_id, via="list"
            )
    return page


def resolve_duplicate_review(
    uow: UnitOfWork,
    actor: Principal,
    review_id: str,
    outcome: str,
    note: str | None,
    now: datetime,
) -> DuplicateReview:
    """``distinct``: two people, nothing changes. ``merged``: one person; the newer record is
    marked a duplicate of the older, its episode closed (``client.discharged`` with reason
    ``duplicate_record``, so plans close and referrals are cancelled) and it points to the
    surviving record. Its assessments, consents and notes stay where they were recorded."""
    review = uow.session.scalars(
        select(DuplicateReview)
        .where(DuplicateReview.id == review_id, _reviewable(actor))
        .with_for_update()
    ).first()
    if review is None:
        raise NotFound(f"No duplicate review {review_id} that you may see.")
    if review.status != "open":
        raise Conflict(
            f"This review was already resolved as {review.outcome}.", outcome=review.outcome
        )
    at = now
    review.status, review.outcome = "resolved", outcome
    review.resolved_by, review.resolved_at, review.resolution_note = actor.sub, at, note
    if outcome == domain.DuplicateOutcome.MERGED:
        _merge(uow, review, at)
    for client_id in (review.new_client_id, review.existing_client_id):
        AUDIT.record(
            uow.session, actor, "resolve", "duplicate_review", review.id, client_id, outcome=outcome
        )
    return review


def _merge(uow: UnitOfWork, review: DuplicateReview, at: datetime) -> None:
    pair = list(
        uow.session.scalars(
            select(Client)
            .where(Client.id.in_([review.new_client_id, review.existing_client_id]))
            .order_by(Client.created_at, Client.reference)
            .with_for_update()
        )
    )
    surviving, duplicate = pair
    if duplicate.merged_into_id is not None:
        raise Conflict(
            f"Client {duplicate.reference} was already merged into another record.",
            merged_into_id=duplicate.merged_into_id,
        )
    if surviving.merged_into_id is not None:
        raise Conflict(
            f"Client {surviving.reference} was itself merged into another record; "
            "review against that one.",
            merged_into_id=surviving.merged_into_id,
        )
    duplicate.merged_into_id = surviving.id
    episode = duplicate.current_episode
    if episode.status == domain.EpisodeStatus.OPEN:
        close_episode(uow, duplicate, episode, domain.DUPLICATE_RECORD, at)
    duplicate.status = domain.MERGED
    duplicate.updated_at = at


def duplicate_review_references(
    uow: UnitOfWork, reviews: Sequence[DuplicateReview]
) -> dict[str, str]:
    """The records' references by client id, so a reviewer can find them: one statement for a
    whole page of pairs."""
    ids = {i for review in reviews for i in (review.new_client_id, review.existing_client_id)}
    if not ids:
        return {}
    rows = uow.session.execute(
        select(Client.id, Client.reference).where(Client.id.in_(sorted(ids)))
    ).all()
    return dict(rows)


def flag_possible_duplicate(
    uow: UnitOfWork, actor: Principal, client_id: str, existing_id: str
) -> None:
    """A registration matched a record its registrar may not see: supervisors review the pair."""
    review = DuplicateReview(
        new_client_id=client_id, existing_client_id=existing_id, flagged_by=actor.sub
    )
    uow.session.add(review)
    uow.session.flush()
    for about in (client_id, existing_id):
        AUDIT.record(uow.session, actor, "flag", "duplicate_review", review.id, about)
