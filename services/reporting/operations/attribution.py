"""Referrals in a report: each is attributed to the client's episode open when it was sent, and
counts for that episode's scope (programme, team)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, ScalarSelect, Subquery, case, func, select
from sqlalchemy.orm import Session, aliased

from services.reporting import domain
from services.reporting.models import EpisodeFacts, ReferralFact
from services.reporting.operations.queries import Scope, between, in_scope, scoped_ids


def _episode_at_sending() -> ColumnElement[str]:
    """The client's episode open when the referral was sent: the latest registered by then, an
    undated one, or else the latest registered (a referral predating the episode's own event)."""
    episode = aliased(EpisodeFacts)
    client = episode.client_id == ReferralFact.client_id

    def one(*conditions: ColumnElement[bool], latest_first: bool = True) -> ScalarSelect[str]:
        query = select(episode.episode_id).where(client, *conditions)
        if latest_first:
            query = query.order_by(episode.registered_at.desc())
        return query.limit(1).scalar_subquery()

    return func.coalesce(
        one(episode.registered_at <= ReferralFact.sent_at),
        one(episode.registered_at.is_(None), latest_first=False),
        one(episode.registered_at.is_not(None)),
    )


def attributed_referrals(scope: Scope, period: domain.Period) -> Subquery:
    """Referrals sent in the period and attributed to a scoped episode (the client's episode
    open at sending), with their partner's figures' columns and ``reason``: the rejection's
    reason code (``unstated`` for none), NULL when not rejected."""
    # OFFSET 0 keeps PostgreSQL from inlining the subquery: the attribution's correlated
    # lookups then run once a referral, not again in the join that checks the scope.
    sent = (
        select(
            ReferralFact.organization_id,
            ReferralFact.sent_at,
            ReferralFact.accepted_at,
            ReferralFact.completed_at,
            ReferralFact.rejected_at,
            ReferralFact.rejection_reason,
            _episode_at_sending().label("episode_id"),
        )
        .where(
            between(ReferralFact.sent_at, period),
            ReferralFact.client_id.in_(select(EpisodeFacts.client_id).where(*in_scope(scope))),
        )
        .offset(0)
        .subquery()
    )
    reason = case(
        (
            sent.c.rejected_at.is_not(None),
            func.coalesce(func.nullif(sent.c.rejection_reason, ""), "unstated"),
        )
    )
    return (
        select(
            *(column for column in sent.c if column.name != "episode_id"), reason.label("reason")
        )
        .where(sent.c.episode_id.in_(scoped_ids(scope)))
        .subquery()
    )


def referrals(session: Session, scope: Scope, period: domain.Period) -> list[domain.Referral]:
    """Referrals sent in the period and attributed to a scoped episode (the client's episode
    open at sending)."""
    attributed = attributed_referrals(scope, period)
    rows = session.connection().execute(
        select(*(column for column in attributed.c if column.name != "reason"))
    )
    return [domain.Referral(*row) for row in rows]
