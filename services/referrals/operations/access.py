"""Who sees which referral, and what of it: the referrer's side (caseload and team), the
partner's (its organisation's sent referrals, only the consented parts of the packet)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, tuple_

from services.referrals import domain
from services.referrals.models import (
    AUDIT,
    CARE_TEAM,
    ClientCare,
    ConsentGrant,
    Referral,
    ReferralTransition,
)
from shared.errors import NotFound
from shared.identity import Principal
from shared.pagination import Page, keyset_page
from shared.unit_of_work import UnitOfWork

R, P = domain.Side.REFERRER, domain.Side.PARTNER


def visible_to_referrer(actor: Principal) -> Any:
    """Staff see the referrals of the clients they carry now (a case manager; none once
    deactivated) or supervise now, as intake's latest assignment and team events say."""
    if actor.has_any("admin"):
        return True
    rules = []
    if actor.has_any("case_manager"):
        carried = select(ClientCare.client_id).where(ClientCare.case_manager_id == actor.sub)
        unknown_care = ~exists(
            select(ClientCare.client_id).where(ClientCare.client_id == Referral.client_id)
        )
        rules.append(
            and_(
                or_(
                    Referral.client_id.in_(carried),
                    and_(unknown_care, Referral.referrer_id == actor.sub),
                ),
                ~CARE_TEAM.deactivated(actor.sub),
            )
        )
    if actor.has_any("supervisor"):
        rules.append(
            Referral.client_id.in_(
                select(ClientCare.client_id).where(ClientCare.supervisor_id == actor.sub)
            )
        )
    return or_(*rules) if rules else False


def load_referral(
    uow: UnitOfWork, actor: Principal, referral_id: str, *, for_update: bool = False
) -> Referral:
    """Partners see only their organisation's referrals; staff only those they refer or supervise.

    ``for_update`` locks the row until commit: both sides may move a referral at the same
    moment, and the second move must be judged against the status the first one left."""
    statement = select(Referral).where(Referral.id == referral_id)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    referral = uow.session.scalars(statement).first()
    if referral is None:
        raise NotFound(f"No referral {referral_id} that you may see.")
    if actor.has_any("partner"):
        if referral.organization_id != actor.org or referral.sent_at is None:
            raise NotFound(f"No referral {referral_id} that you may see.")
        return referral
    allowed = uow.session.scalars(
        select(Referral.id).where(Referral.id == referral_id, visible_to_referrer(actor))
    ).first()
    if not allowed:
        raise NotFound(f"No referral {referral_id} that you may see.")
    return referral


def consented_categories(
    uow: UnitOfWork, client_id: str, organization_id: str, today: date, *, lock: bool = False
) -> set[str] | None:
    """``lock`` holds the grants until commit, so a revocation arriving meanwhile waits and then
    finds (and cancels) what was sent under the consent it ends."""
    return _categories_in_force(
        consents_in_force(uow, client_id, organization_id, today, lock=lock), today
    )


def consents_in_force(
    uow: UnitOfWork, client_id: str, organization_id: str, today: date, *, lock: bool = False
) -> list[ConsentGrant]:
    """The client's grants to the organisation in force today (``lock`` as above)."""
    statement = select(ConsentGrant).where(
        ConsentGrant.client_id == client_id, ConsentGrant.organization_id == organization_id
    )
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return _live(uow.session.scalars(statement).all(), today)


def _live(grants: Sequence[ConsentGrant], today: date) -> list[ConsentGrant]:
    return [
        g for g in grants if domain.consent_in_force(g.starts_on, g.expires_on, g.revoked, today)
    ]


def _categories_in_force(grants: Sequence[ConsentGrant], today: date) -> set[str] | None:
    """What the grants in force today allow to be shared; None when none is in force."""
    live = _live(grants, today)
    return {category for grant in live for category in grant.categories} if live else None


def open_referrals(
    uow: UnitOfWork, *, client_id: str, organization_id: str | None = None
) -> list[Referral]:
    statement = select(Referral).where(
        Referral.client_id == client_id, Referral.status.in_([str(s) for s in domain.OPEN])
    )
    if organization_id:
        statement = statement.where(Referral.organization_id == organization_id)
    return list(uow.session.scalars(statement.order_by(Referral.id).with_for_update()))


def partner_view(uow: UnitOfWork, referral: Referral, today: date) -> dict[str, Any]:
    """What a partner sees: status and service, and only the consented parts of the packet."""
    categories = (
        consented_categories(uow, referral.client_id, referral.organization_id, today) or set()
    )
    return {
        "id": referral.id,
        "client_reference": referral.client_reference,
        "service_id": referral.service_id,
        "status": referral.status,
        "domain": referral.domain,
        "sent_at": referral.sent_at,
        "updated_at": referral.updated_at,
        "outcome": referral.outcome,
        "packet": domain.consented_packet(referral.packet, categories),
        "allowed_moves": domain.allowed_moves(referral.status, P),
    }


def read(uow: UnitOfWork, actor: Principal, referral_id: str) -> Referral:
    referral = load_referral(uow, actor, referral_id)
    AUDIT.record(uow.session, actor, "read", "referral", referral.id, referral.client_id)
    return referral


def list_referrals(
    uow: UnitOfWork,
    actor: Principal,
    *,
    status: str | None,
    limit: int,
    cursor: str | None,
    client_id: str | None = None,
) -> Page[Referral]:
    statement = select(Referral).where(_listed(actor, status, client_id))
    page = keyset_page(
        uow.session, statement, [Referral.created_at, Referral.id], limit=limit, cursor=cursor
    )
    for referral in page.items:
        AUDIT.record(
            uow.session, actor, "read", "referral", referral.id, referral.client_id, via="list"
        )
    return page


def count_referrals(uow: UnitOfWork, actor: Principal, *, status: str | None) -> int:
    """How many referrals ``list_referrals`` lists on all its pages (a FHIR Bundle's total)."""
    counted = select(func.count()).select_from(Referral).where(_listed(actor, status, None))
    return uow.session.scalar(counted) or 0


def _listed(actor: Principal, status: str | None, client_id: str | None) -> ColumnElement[bool]:
    """The referrals a list shows this caller: a partner's sent ones, else the referrer's."""
    if actor.has_any("partner"):
        rules = [Referral.organization_id == actor.org, Referral.sent_at.is_not(None)]
    else:
        rules = [visible_to_referrer(actor)]
    if status:
        rules.append(Referral.status == status)
    if client_id:
        rules.append(Referral.client_id == client_id)
    return and_(*rules)


def transitions(uow: UnitOfWork, referral: Referral) -> list[ReferralTransition]:
    return list(
        uow.session.scalars(
            select(ReferralTransition)
            .where(ReferralTransition.referral_id == referral.id)
            .order_by(ReferralTransition.at)
        )
    )


@dataclass(frozen=True)
class ReferralDetails:
    """What a referral's representation shows beside it."""

    shareable: set[str] | None
    transitions: list[ReferralTransition]


def referral_details(
    uow: UnitOfWork, referrals: Sequence[Referral], today: date
) -> dict[str, ReferralDetails]:
    """Each referral's consented categories (as ``consented_categories``) and transitions (as
    ``transitions``), for a whole page in two statements, not two queries a referral."""
    if not referrals:
        return {}
    pairs = {(r.client_id, r.organization_id) for r in referrals if r.organization_id}
    grants: dict[tuple[str, str], list[ConsentGrant]] = defaultdict(list)
    if pairs:
        for grant in uow.session.scalars(
            select(ConsentGrant).where(
                tuple_(ConsentGrant.client_id, ConsentGrant.organization_id).in_(sorted(pairs))
            )
        ):
            grants[(grant.client_id, grant.organization_id)].append(grant)
    moves: dict[str, list[ReferralTransition]] = defaultdict(list)
    for move in uow.session.scalars(
        select(ReferralTransition)
        .where(ReferralTransition.referral_id.in_([r.id for r in referrals]))
        .order_by(ReferralTransition.at)
    ):
        moves[move.referral_id].append(move)

    def shareable(referral: Referral) -> set[str] | None:
        if not referral.organization_id:
            return None
        return _categories_in_force(grants[(referral.client_id, referral.organization_id)], today)

    return {r.id: ReferralDetails(shareable(r), moves[r.id]) for r in referrals}
