"""The referrals service layer: directory, consent-checked referrals through the FHIR Task
lifecycle, partner credentials and the partner event feed with signed webhook delivery."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, exists, or_, select, update

from services.referrals import domain
from services.referrals.models import (
    AUDIT,
    CARE_TEAM,
    ApiKey,
    ClientCare,
    ConsentGrant,
    Organization,
    PartnerEvent,
    Referral,
    ReferralTransition,
    Service,
    WebhookDelivery,
    WebhookSubscription,
)
from shared.care_team import supersedes
from shared.clock import agency_today
from shared.db import utc_now
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.logging import get_logger
from shared.outbound import OutboundGuard, OutboundRefused
from shared.pagination import Page, is_position, keyset_page
from shared.unit_of_work import UnitOfWork
from shared.webhooks import DeliveryFailed, post_signed

if TYPE_CHECKING:
    from shared.web.auth import Principal

log = get_logger(__name__)
R, P = domain.Side.REFERRER, domain.Side.PARTNER


def overdue_after() -> timedelta:
    return timedelta(days=float(os.environ.get("REFERRALS_RESPONSE_DAYS", "3")))


# -- directory ---------------------------------------------------------------------------------
def save_organization(
    uow: UnitOfWork, actor: Principal, organization_id: str, values: Mapping[str, Any]
) -> Organization:
    organization = uow.session.get(Organization, organization_id) or Organization(
        id=organization_id
    )
    for field, value in values.items():
        setattr(organization, field, value)
    uow.session.add(organization)
    AUDIT.record(
        uow.session, actor, "save", "organization", None, None, organization_id=organization_id
    )
    return organization


def save_service(
    uow: UnitOfWork, actor: Principal, service_id: str, values: Mapping[str, Any]
) -> Service:
    if uow.session.get(Organization, values["organization_id"]) is None:
        raise Unprocessable("organization_id", "no such organisation in the directory")
    service = uow.session.get(Service, service_id) or Service(id=service_id)
    if actor.has_any("partner") and not actor.has_any("admin"):
        # Neither another organisation's service, nor a move of one into the partner's own.
        owners = {values["organization_id"], service.organization_id or values["organization_id"]}
        if owners != {actor.org}:
            raise Forbidden("A partner maintains its own organisation's services only.")
    for field, value in values.items():
        setattr(service, field, value)
    uow.session.add(service)
    return service


def search_services(
    uow: UnitOfWork,
    *,
    domain_name: str | None,
    language: str | None,
    open_capacity: bool,
    near: tuple[float, float] | None,
    within_km: float | None,
    limit: int,
    cursor: str | None,
) -> Page[tuple[Service, float | None]]:
    statement = select(Service)
    if open_capacity:
        statement = statement.where(Service.capacity_status == "available")
    services = [
        s
        for s in uow.session.scalars(statement.order_by(Service.id))
        if (not domain_name or domain_name in s.domains)
        and (not language or language in s.languages)
    ]
    scored: list[tuple[Service, float | None]] = []
    for service in services:
        distance = None
        if near and service.latitude is not None and service.longitude is not None:
            distance = domain.distance_km(near[0], near[1], service.latitude, service.longitude)
        if within_km is not None and (distance is None or distance > within_km):
            continue
        scored.append((service, distance))
    if near:
        scored.sort(key=lambda item: (item[1] if item[1] is not None else float("inf"), item[0].id))
    if cursor and not is_position(cursor):
        raise Unprocessable("cursor", "not a cursor this API returned")
    start = int(cursor or 0)
    page = scored[start : start + limit]
    return Page(page, str(start + limit) if start + limit < len(scored) else None)


# -- projections from intake and planning ------------------------------------------------------
def record_consent(uow: UnitOfWork, data: Mapping[str, Any]) -> None:
    # No autoflush: the lookup must not flush the batch's earlier grants one round trip at a
    # time; they are inserted together at commit (a repeated id within one batch fails the
    # flush, and the consumer's one-by-one redo then finds the first one).
    with uow.session.no_autoflush:
        grant = uow.session.get(ConsentGrant, data["consent_id"])
    if grant is None:
        uow.session.add(
            ConsentGrant(
                consent_id=data["consent_id"],
                client_id=data["client_id"],
                organization_id=data["organization_id"],
                categories=list(data["categories"]),
                starts_on=date.fromisoformat(str(data["starts_on"])),
                expires_on=date.fromisoformat(str(data["expires_on"]))
                if data.get("expires_on")
                else None,
            )
        )


def record_revocation(uow: UnitOfWork, data: Mapping[str, Any], now: datetime) -> None:
    """Revoked (or expired) consent: no more sharing, and open referrals to that organisation end.

    Locks the open referrals before the grant, in the order ``send`` takes them, so a send
    racing this revocation waits for it (or it for the send) instead of deadlocking."""
    open_referrals = _open_referrals(
        uow, client_id=data["client_id"], organization_id=data["organization_id"]
    )
    grant = uow.session.get(ConsentGrant, data["consent_id"])
    if grant is not None:
        grant.revoked = True
    if (
        _consented_categories(uow, data["client_id"], data["organization_id"], agency_today(now))
        is None
    ):
        for referral in open_referrals:
            _move(
                uow,
                referral,
                domain.ReferralStatus.CANCELLED,
                by="system",
                side=R,
                reason_code="consent_revoked",
                note=None,
                now=now,
            )


def _care(uow: UnitOfWork, data: Mapping[str, Any]) -> ClientCare:
    care = uow.session.get(ClientCare, data["client_id"], with_for_update=True)
    if care is None:
        care = ClientCare(client_id=data["client_id"], client_reference=data["client_reference"])
        uow.session.add(care)
    return care


def record_assignment(uow: UnitOfWork, data: Mapping[str, Any]) -> None:
    """The new case manager (and their supervisor) see the client's referrals; the one before no
    longer does. A late event (an older ``care_version``) changes nothing."""
    care = _care(uow, data)
    if not supersedes(data.get("care_version"), care.care_version):
        return
    care.care_version = data.get("care_version")
    care.case_manager_id = data["case_manager_id"]
    care.supervisor_id = CARE_TEAM.supervisor_of(
        uow.session,
        data["case_manager_id"],
        announced=data.get("supervisor_id"),
        announced_version=data.get("case_manager_version"),
    )


def record_team_change(uow: UnitOfWork, data: Mapping[str, Any]) -> None:
    """A case manager moved team (or left): their clients' referrals follow the new supervisor."""
    if CARE_TEAM.record(uow.session, data):
        uow.session.execute(
            update(ClientCare)
            .where(ClientCare.case_manager_id == data["case_manager_id"])
            .values(supervisor_id=data.get("supervisor_id"))
        )


def record_discharge(uow: UnitOfWork, data: Mapping[str, Any], now: datetime) -> None:
    """Open referrals are cancelled and no one carries the client any more (admins still read)."""
    care = _care(uow, data)
    if supersedes(data.get("care_version"), care.care_version):
        care.care_version = data.get("care_version")
        care.case_manager_id = care.supervisor_id = None
    for referral in _open_referrals(uow, client_id=data["client_id"]):
        _move(
            uow,
            referral,
            domain.ReferralStatus.CANCELLED,
            by="system",
            side=R,
            reason_code="client_discharged",
            note=None,
            now=now,
        )


def draft_from_strategy(uow: UnitOfWork, data: Mapping[str, Any], now: datetime) -> Referral | None:
    """A plan's referral strategy becomes a draft referral (the case manager completes and sends it)."""
    if uow.session.scalars(
        select(Referral.id).where(Referral.strategy_id == data["strategy_id"])
    ).first():
        return None
    service = (
        uow.session.get(Service, data["partner_service_id"])
        if data.get("partner_service_id")
        else None
    )
    if service is None:
        log.warning("referral.strategy_without_known_service", strategy_id=data["strategy_id"])
        return None
    care = uow.session.get(ClientCare, data["client_id"])
    referral = Referral(
        client_id=data["client_id"],
        client_reference=data["client_reference"],
        episode_id=data["episode_id"],
        organization_id=service.organization_id,
        service_id=service.id,
        domain=data["domain"],
        plan_id=data["plan_id"],
        goal_id=data["goal_id"],
        strategy_id=data["strategy_id"],
        referrer_id=(
            care.case_manager_id if care and care.case_manager_id else data["requested_by"]
        ),
        created_at=now,
        updated_at=now,
    )
    uow.session.add(referral)
    uow.session.flush()
    _publish(uow, "referral.created.v1", referral, now)
    return referral


# -- referrals (referrer side) -----------------------------------------------------------------
def _visible_to_referrer(actor: Principal) -> Any:
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


def _referral(
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
        select(Referral.id).where(Referral.id == referral_id, _visible_to_referrer(actor))
    ).first()
    if not allowed:
        raise NotFound(f"No referral {referral_id} that you may see.")
    return referral


def create_referral(
    uow: UnitOfWork, actor: Principal, values: Mapping[str, Any], now: datetime
) -> Referral:
    service = uow.session.get(Service, values["service_id"])
    if service is None:
        raise Unprocessable("service_id", "no such service in the directory")
    care = uow.session.get(ClientCare, values["client_id"])
    carries = (
        care is not None
        and care.case_manager_id == actor.sub
        and not uow.session.scalar(select(CARE_TEAM.deactivated(actor.sub)))
    )
    if care is None or not (
        carries
        or (actor.has_any("supervisor") and care.supervisor_id == actor.sub)
        or actor.has_any("admin")
    ):
        raise NotFound(f"No client {values['client_id']} on your caseload.")
    referral = Referral(
        client_id=care.client_id,
        client_reference=care.client_reference,
        organization_id=service.organization_id,
        service_id=service.id,
        domain=values.get("domain"),
        referrer_id=care.case_manager_id,
        packet=dict(values.get("packet") or {}),
        created_at=now,
        updated_at=now,
    )
    uow.session.add(referral)
    uow.session.flush()
    AUDIT.record(uow.session, actor, "create", "referral", referral.id, referral.client_id)
    _publish(uow, "referral.created.v1", referral, now)
    return referral


def update_packet(
    uow: UnitOfWork, actor: Principal, referral_id: str, packet: Mapping[str, Any]
) -> Referral:
    referral = _referral(uow, actor, referral_id, for_update=True)
    if referral.status != domain.ReferralStatus.DRAFT:
        raise Conflict("Only a draft referral's packet can change.", current_status=referral.status)
    referral.packet = dict(packet)
    AUDIT.record(
        uow.session,
        actor,
        "update",
        "referral",
        referral.id,
        referral.client_id,
        fields=sorted(packet),
    )
    return referral


def send(uow: UnitOfWork, actor: Principal, referral_id: str, now: datetime) -> Referral:
    """Needs the client's consent for the organisation in force and room in the service."""
    referral = _referral(uow, actor, referral_id, for_update=True)
    _move(
        uow,
        referral,
        domain.ReferralStatus.REQUESTED,
        by=actor.sub,
        side=R,
        reason_code=None,
        note=None,
        now=now,
    )
    AUDIT.record(uow.session, actor, "send", "referral", referral.id, referral.client_id)
    return referral


def _ensure_sendable(uow: UnitOfWork, referral: Referral, today: date) -> None:
    """The one gate to ``requested``, where the partner first sees the referral and its events:
    the client's consent for the organisation in force, and room in the service. ``_move`` runs
    it for every move there, so no path can go round it."""
    consented = _consented_categories(
        uow, referral.client_id, referral.organization_id, today, lock=True
    )
    if consented is None:
        raise Conflict(
            f"Client {referral.client_reference} has no consent in force to share with "
            f"{referral.organization_id} yet. A consent recorded in intake reaches referrals "
            "within seconds: if it was just recorded, retry shortly; if not, record the "
            "client's consent for this organisation in intake first.",
            reason="no_consent",
        )
    service = uow.session.get(Service, referral.service_id) if referral.service_id else None
    if service is None:
        raise Conflict(
            "The referral names no service of the directory, so its capacity cannot be checked.",
            reason="no_service",
        )
    if service.capacity_status != "available":
        raise Conflict(
            f"Service {service.id} has no capacity ({service.capacity_status}).",
            reason="no_capacity",
            capacity_status=service.capacity_status,
        )


def move(
    uow: UnitOfWork,
    actor: Principal,
    referral_id: str,
    to: str,
    *,
    reason_code: str | None,
    note: str | None,
    outcome: str | None,
    now: datetime,
) -> Referral:
    referral = _referral(uow, actor, referral_id, for_update=True)
    side = P if actor.has_any("partner") else R
    if to == domain.ReferralStatus.COMPLETED and not outcome:
        raise Unprocessable("outcome", "completion carries an outcome")
    own_endpoint = domain.OWN_ENDPOINTS.get(domain.ReferralStatus(to))
    if own_endpoint is not None:
        _check_move(referral, domain.ReferralStatus(to), side, reason_code)
        endpoint = own_endpoint.format(referral_id=referral.id)
        raise Conflict(
            f"A referral becomes {to} only through {endpoint}, which checks the client's "
            "consent and the service's capacity; this endpoint does not make that move.",
            reason="use_own_endpoint",
            endpoint=endpoint,
            current_status=referral.status,
            allowed=[m for m in domain.allowed_moves(referral.status, side) if m != to],
        )
    _move(
        uow,
        referral,
        domain.ReferralStatus(to),
        by=actor.sub,
        side=side,
        reason_code=reason_code,
        note=note,
        now=now,
    )
    if outcome:
        referral.outcome = outcome
    AUDIT.record(
        uow.session,
        actor,
        "move",
        "referral",
        referral.id,
        referral.client_id,
        to=to,
        reason_code=reason_code,
    )
    return referral


def _move(
    uow: UnitOfWork,
    referral: Referral,
    to: domain.ReferralStatus,
    *,
    by: str,
    side: domain.Side,
    reason_code: str | None,
    note: str | None,
    now: datetime,
) -> None:
    _check_move(referral, to, side, reason_code)
    if to == domain.ReferralStatus.REQUESTED:
        _ensure_sendable(uow, referral, agency_today(now))
        referral.sent_at = now
    previous = referral.status
    referral.status, referral.updated_at = str(to), now
    uow.session.add(
        ReferralTransition(
            referral_id=referral.id,
            from_status=previous,
            to_status=str(to),
            by=by,
            side=str(side),
            at=now,
            reason_code=reason_code,
            note=note,
        )
    )
    _publish(
        uow,
        "referral.status_changed.v1",
        referral,
        now,
        from_status=previous,
        reason_code=reason_code,
        by_side=str(side),
    )
    if to == domain.ReferralStatus.REQUESTED:
        _publish(uow, "referral.sent.v1", referral, now)
    elif to == domain.ReferralStatus.COMPLETED:
        _publish(uow, "referral.completed.v1", referral, now)
    elif to == domain.ReferralStatus.CANCELLED:
        _publish(uow, "referral.cancelled.v1", referral, now, reason_code=reason_code)


def _check_move(
    referral: Referral, to: domain.ReferralStatus, side: domain.Side, reason_code: str | None
) -> None:
    try:
        domain.check_move(referral.status, to, side, reason_code)
    except domain.TransitionRefused as refused:
        error = Forbidden if refused.forbidden else Conflict
        raise error(str(refused), current_status=referral.status, allowed=refused.allowed) from None


def _publish(
    uow: UnitOfWork, short_type: str, referral: Referral, now: datetime, **extra: Any
) -> None:
    """The domain event, and the same fact on the partner's feed once the referral was sent
    (never for one that was not: a draft cancelled is none of the partner's business)."""
    data = {
        "referral_id": referral.id,
        "client_id": referral.client_id,
        "client_reference": referral.client_reference,
        "organization_id": referral.organization_id,
        "service_id": referral.service_id,
        "status": referral.status,
        "plan_id": referral.plan_id,
        "strategy_id": referral.strategy_id,
        "at": now,
        **extra,
    }
    event = uow.publish(
        f"casehub.referrals.{short_type}", subject=f"referral/{referral.id}", data=data
    )
    if referral.sent_at is not None:
        partner_view = {
            k: v
            for k, v in event.to_cloudevent().items()
            if k not in ("correlationid", "causationid")
        }
        partner_view["data"] = {
            k: v
            for k, v in partner_view["data"].items()
            if k not in ("client_id", "plan_id", "strategy_id")
        }
        entry = PartnerEvent(
            organization_id=referral.organization_id,
            event_type=event.type,
            cloudevent=partner_view,
            created_at=now,
        )
        uow.session.add(entry)
        uow.session.flush()
        for subscription in uow.session.scalars(
            select(WebhookSubscription).where(
                WebhookSubscription.organization_id == referral.organization_id,
                WebhookSubscription.active.is_(True),
            )
        ):
            if not subscription.event_types or event.type in subscription.event_types:
                uow.session.add(
                    WebhookDelivery(
                        subscription_id=subscription.id,
                        partner_event_id=entry.id,
                        next_attempt_at=now,
                    )
                )


def _consented_categories(
    uow: UnitOfWork, client_id: str, organization_id: str, today: date, *, lock: bool = False
) -> set[str] | None:
    """``lock`` holds the grants until commit, so a revocation arriving meanwhile waits and then
    finds (and cancels) what was sent under the consent it ends."""
    statement = select(ConsentGrant).where(
        ConsentGrant.client_id == client_id, ConsentGrant.organization_id == organization_id
    )
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    grants = uow.session.scalars(statement).all()
    live = [
        g for g in grants if domain.consent_in_force(g.starts_on, g.expires_on, g.revoked, today)
    ]
    return {category for grant in live for category in grant.categories} if live else None


def _open_referrals(
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
        _consented_categories(uow, referral.client_id, referral.organization_id, today) or set()
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
    referral = _referral(uow, actor, referral_id)
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
    if actor.has_any("partner"):
        statement = select(Referral).where(
            Referral.organization_id == actor.org, Referral.sent_at.is_not(None)
        )
    else:
        statement = select(Referral).where(_visible_to_referrer(actor))
    if status:
        statement = statement.where(Referral.status == status)
    if client_id:
        statement = statement.where(Referral.client_id == client_id)
    page = keyset_page(
        uow.session, statement, [Referral.created_at, Referral.id], limit=limit, cursor=cursor
    )
    for referral in page.items:
        AUDIT.record(
            uow.session, actor, "read", "referral", referral.id, referral.client_id, via="list"
        )
    return page


def transitions(uow: UnitOfWork, referral: Referral) -> list[ReferralTransition]:
    return list(
        uow.session.scalars(
            select(ReferralTransition)
            .where(ReferralTransition.referral_id == referral.id)
            .order_by(ReferralTransition.at)
        )
    )


def announce_overdue(uow: UnitOfWork, now: datetime) -> int:
    """A partner silent past the response time: ``referral.overdue`` once."""
    late = list(
        uow.session.scalars(
            select(Referral)
            .where(
                Referral.status == domain.ReferralStatus.REQUESTED,
                Referral.overdue_announced.is_(False),
                Referral.sent_at <= now - overdue_after(),
            )
            .with_for_update(skip_locked=True)
        )
    )
    for referral in late:
        referral.overdue_announced = True
        _publish(uow, "referral.overdue.v1", referral, now, sent_at=referral.sent_at)
    return len(late)


# -- partner credentials, feed and webhooks ----------------------------------------------------
def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_api_key(uow: UnitOfWork, actor: Principal, organization_id: str) -> tuple[ApiKey, str]:
    if uow.session.get(Organization, organization_id) is None:
        raise NotFound(f"No organisation {organization_id}.")
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    key = ApiKey(organization_id=organization_id, prefix=prefix, secret_hash=_hash(secret))
    uow.session.add(key)
    uow.session.flush()
    AUDIT.record(
        uow.session, actor, "issue", "api_key", key.id, None, organization_id=organization_id
    )
    return key, f"chk_{prefix}_{secret}"


def revoke_api_key(uow: UnitOfWork, actor: Principal, key_id: str, now: datetime) -> ApiKey:
    key = uow.session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"No API key {key_id}.")
    key.revoked_at = key.revoked_at or now
    AUDIT.record(
        uow.session, actor, "revoke", "api_key", key.id, None, organization_id=key.organization_id
    )
    return key


def organization_for_key(uow: UnitOfWork, presented: str) -> str | None:
    """The organisation an API key belongs to, if it is valid (constant-time comparison)."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != "chk":
        return None
    key = uow.session.scalars(select(ApiKey).where(ApiKey.prefix == parts[1])).first()
    if (
        key is None
        or key.revoked_at is not None
        or not secrets.compare_digest(key.secret_hash, _hash(parts[2]))
    ):
        return None
    key.last_used_at = utc_now()
    return key.organization_id


def feed(
    uow: UnitOfWork, actor: Principal, *, after: str | None, limit: int
) -> tuple[list[PartnerEvent], str]:
    """Events after the cursor in order. The cursor returned is where to continue, also at the
    end, so a partner polls with it and gets each event exactly once."""
    if after is not None and not is_position(after):
        raise Unprocessable("after", "not a cursor this feed returned")
    position = int(after or 0)
    entries = list(
        uow.session.scalars(
            select(PartnerEvent)
            .where(PartnerEvent.organization_id == actor.org, PartnerEvent.id > position)
            .order_by(PartnerEvent.id)
            .limit(limit)
        )
    )
    return entries, str(entries[-1].id if entries else position)


def subscribe(
    uow: UnitOfWork, actor: Principal, values: Mapping[str, Any], outbound: OutboundGuard
) -> WebhookSubscription:
    """A webhook to a public https endpoint only (``outbound`` checks the URL as resolved now;
    each delivery checks it again)."""
    if actor.org is None or uow.session.get(Organization, actor.org) is None:
        raise Forbidden("Your credential names no partner organisation of the directory.")
    try:
        outbound.check(values["url"])
    except OutboundRefused as refused:
        raise Unprocessable("url", str(refused)) from None
    subscription = WebhookSubscription(
        organization_id=actor.org,
        url=values["url"],
        secret=values["secret"],
        event_types=list(values.get("event_types") or []),
    )
    uow.session.add(subscription)
    uow.session.flush()
    AUDIT.record(uow.session, actor, "subscribe", "webhook", subscription.id, None)
    return subscription


def subscriptions(
    uow: UnitOfWork, actor: Principal, *, limit: int, cursor: str | None
) -> Page[WebhookSubscription]:
    return keyset_page(
        uow.session,
        select(WebhookSubscription).where(WebhookSubscription.organization_id == actor.org),
        [WebhookSubscription.id],
        limit=limit,
        cursor=cursor,
    )


def webhook_log(
    uow: UnitOfWork, actor: Principal, subscription_id: str, *, limit: int, cursor: str | None
) -> Page[WebhookDelivery]:
    subscription = uow.session.get(WebhookSubscription, subscription_id)
    if subscription is None or subscription.organization_id != actor.org:
        raise NotFound(f"No subscription {subscription_id}.")
    return keyset_page(
        uow.session,
        select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id),
        [WebhookDelivery.partner_event_id],
        limit=limit,
        cursor=cursor,
    )


def deliver_webhooks(
    uow: UnitOfWork, now: datetime, *, outbound: OutboundGuard, batch: int = 50
) -> int:
    """Send due partner webhooks where ``outbound`` allows them now; back off on failure; disable
    a subscription that keeps failing. The delivery log says "delivery failed" or the HTTP
    status class, never what the network did."""
    due = uow.session.execute(
        select(WebhookDelivery, WebhookSubscription, PartnerEvent)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .join(PartnerEvent, PartnerEvent.id == WebhookDelivery.partner_event_id)
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            WebhookSubscription.active.is_(True),
        )
        .order_by(WebhookDelivery.partner_event_id)
        .limit(batch)
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    ).all()
    for delivery, subscription, entry in due:
        delivery.attempts += 1
        try:
            post_signed(subscription.url, subscription.secret, entry.cloudevent, guard=outbound)
        except DeliveryFailed as failed:
            delivery.last_error = str(failed)
            delivery.next_attempt_at = now + timedelta(
                seconds=domain.webhook_backoff_seconds(delivery.attempts)
            )
            subscription.consecutive_failures += 1
            if subscription.consecutive_failures >= domain.DISABLE_AFTER_FAILURES:
                subscription.active, subscription.disabled_at = False, now
                subscription.disabled_reason = (
                    f"disabled after {subscription.consecutive_failures} failed deliveries"
                )
                log.error(
                    "webhook.disabled",
                    subscription_id=subscription.id,
                    organization=subscription.organization_id,
                )
            continue
        delivery.status, delivery.delivered_at, delivery.last_error = "delivered", now, None
        subscription.consecutive_failures = 0
    return len(due)


def reactivate(uow: UnitOfWork, actor: Principal, subscription_id: str) -> WebhookSubscription:
    subscription = uow.session.get(WebhookSubscription, subscription_id)
    if subscription is None or subscription.organization_id != actor.org:
        raise NotFound(f"No subscription {subscription_id}.")
    subscription.active, subscription.consecutive_failures = True, 0
    subscription.disabled_at = subscription.disabled_reason = None
    return subscription
