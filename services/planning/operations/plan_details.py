"""What a plan's representation shows beside the plan itself (its working version, next review,
strategies' referrals and suggested changes), for a whole page of plans in four statements:
a list of plans, and the client record's casework, were four queries a plan."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, tuple_

from services.planning import domain
from services.planning.models import Plan, PlanVersion, Review, StrategyReferral, SuggestedChange
from services.planning.operations.access import PENDING_REVIEW
from shared.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class PlanDetails:
    version: PlanVersion
    next_review: Review | None
    strategy_referrals: dict[str, str]
    suggested_changes: list[SuggestedChange]


def plan_details(uow: UnitOfWork, plans: Sequence[Plan]) -> dict[str, PlanDetails]:
    """Each plan's details by plan id: its current version, its earliest pending review, its
    strategies' referral states and every suggested change (open ones first, then the decided,
    oldest first)."""
    if not plans:
        return {}
    ids = [plan.id for plan in plans]
    session = uow.session
    versions = {
        version.plan_id: version
        for version in session.scalars(
            select(PlanVersion).where(
                tuple_(PlanVersion.plan_id, PlanVersion.number).in_(
                    [(plan.id, plan.current_version) for plan in plans]
                )
            )
        )
    }
    reviews: dict[str, Review] = {}
    for review in session.scalars(
        select(Review)
        .where(Review.plan_id.in_(ids), Review.status.in_(PENDING_REVIEW))
        .order_by(Review.plan_id, Review.due_on)
    ):
        reviews.setdefault(review.plan_id, review)
    referrals: dict[str, dict[str, str]] = defaultdict(dict)
    for link in session.scalars(select(StrategyReferral).where(StrategyReferral.plan_id.in_(ids))):
        referrals[link.plan_id][link.strategy_id] = link.status
    suggestions: dict[str, list[SuggestedChange]] = defaultdict(list)
    for change in session.scalars(
        select(SuggestedChange)
        .where(SuggestedChange.plan_id.in_(ids))
        .order_by(SuggestedChange.suggested_at, SuggestedChange.domain)
    ):
        suggestions[change.plan_id].append(change)
    return {
        plan.id: PlanDetails(
            version=versions[plan.id],
            next_review=reviews.get(plan.id),
            strategy_referrals=referrals[plan.id],
            suggested_changes=sorted(
                suggestions[plan.id], key=lambda s: s.status != domain.SuggestionStatus.OPEN
            ),
        )
        for plan in plans
    }
