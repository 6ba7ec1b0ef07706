"""A referral's lifecycle on the referrer's and the partner's side: drafting, the packet, sending
through the consent and capacity gate, and every move of the FHIR Task status machine."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from services.referrals import domain
from services.referrals.events import (
    ReferralCancelled,
    ReferralCompleted,
    ReferralCreated,
    ReferralEvent,
    ReferralFailed,
    ReferralOverdue,
    ReferralRejected,
    ReferralSent,
    ReferralStatusChanged,
)
from services.referrals.models import (
    AUDIT,
    CARE_TEAM,
    ClientCare,
    Referral,
    ReferralTransition,
    Service,
)
from services.referrals.operations.access import P, R, consents_in_force, load_referral
from services.referrals.operations.publishing import publish
from services.referrals.settings import DEFAULT_RESPONSE_TIME
from shared.clock import agency_date
from shared.errors import Conflict, NotFound, Unprocessable
from shared.identity import Principal
from shared.unit_of_work import UnitOfWork

#: The fact each kind of move announces besides ``status_changed`` (so one move can raise two
#: events; partners are told so in docs/partners.md).
ANNOUNCEMENTS: Mapping[str, type[ReferralEvent]] = {
    "sent": ReferralSent,
    "completed": ReferralCompleted,
    "cancelled": ReferralCancelled,
    "rejected": ReferralRejected,
    "failed": ReferralFailed,
}


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
    publish(uow, ReferralCreated.of(referral, now), referral, now)
    return referral


def send(uow: UnitOfWork, actor: Principal, referral_id: str, now: datetime) -> Referral:
    """Needs the client's consent for the organisation in force and room in the service."""
    referral = load_referral(uow, actor, referral_id, for_update=True)
    apply_move(
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


def ensure_sendable(uow: UnitOfWork, referral: Referral, today: date) -> list[str]:
    """The one gate to ``requested``, where the partner first sees the referral and its events:
    the client's consent for the organisation in force, and room in the service. ``apply_move``
    runs it for every move there, so no path can go round it. Returns the consents it is sent
    under (intake's consent ids)."""
    if referral.service_id is None:
        raise Conflict(
            "The referral needs a service of the directory first (its plan named one the "
            "directory does not have yet): choose one with PATCH.",
            reason="no_service",
        )
    consents = consents_in_force(
        uow, referral.client_id, referral.organization_id, today, lock=True
    )
    if not consents:
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
    return sorted(grant.consent_id for grant in consents)


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
    activities: list[dict[str, Any]] | None = None,
) -> Referral:
    """``activities``: the IG's resulting-activity values a FHIR client sent, kept as sent."""
    referral = load_referral(uow, actor, referral_id, for_update=True)
    side = P if actor.has_any("partner") else R
    outcome = outcome.strip() if outcome else None
    if to == domain.ReferralStatus.COMPLETED and not outcome:
        domain.check_move(referral.status, to, side, reason_code)  # an illegal move is a 409 first
        raise Unprocessable("outcome", "completion carries an outcome (not only blank space)")
    own_endpoint = domain.OWN_ENDPOINTS.get(domain.ReferralStatus(to))
    if own_endpoint is not None:
        domain.check_move(referral.status, domain.ReferralStatus(to), side, reason_code)
        endpoint = own_endpoint.format(referral_id=referral.id)
        raise Conflict(
            f"A referral becomes {to} only through {endpoint}, which checks the client's "
            "consent and the service's capacity; this endpoint does not make that move.",
            reason="use_own_endpoint",
            endpoint=endpoint,
            current_status=referral.status,
            allowed=[m for m in domain.allowed_moves(referral.status, side) if m != to],
        )
    apply_move(
        uow,
        referral,
        domain.ReferralStatus(to),
        by=actor.sub,
        side=side,
        reason_code=reason_code,
        note=note,
        now=now,
        outcome=outcome,
        activities=activities,
    )
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


def apply_move(
    uow: UnitOfWork,
    referral: Referral,
    to: domain.ReferralStatus,
    *,
    by: str,
    side: domain.Side,
    reason_code: str | None,
    note: str | None,
    now: datetime,
    outcome: str | None = None,
    activities: list[dict[str, Any]] | None = None,
) -> None:
    """Decide (the status machine), check the gate when it sends, record, then announce."""
    decision = domain.decide_move(referral.status, to, side, reason_code)
    if decision.sends:
        referral.consent_ids = ensure_sendable(uow, referral, agency_date(now))
        referral.sent_at = now
    referral.status, referral.updated_at = str(decision.to), now
    if outcome:
        referral.outcome = outcome
    if activities:
        referral.resulting_activities = activities
    uow.session.add(
        ReferralTransition(
            referral_id=referral.id,
            from_status=str(decision.from_status),
            to_status=str(decision.to),
            by=by,
            side=str(side),
            at=now,
            reason_code=reason_code,
            note=note,
        )
    )
    changed = ReferralStatusChanged.of(
        referral,
        now,
        from_status=str(decision.from_status),
        reason_code=reason_code,
        by_side=str(side),
    )
    publish(uow, changed, referral, now)
    if decision.announces is not None:
        publish(
            uow, _announcement(decision.announces, referral, now, reason_code, side), referral, now
        )


def _announcement(
    announces: str, referral: Referral, now: datetime, reason_code: str | None, side: domain.Side
) -> ReferralEvent:
    """The fact besides ``status_changed``, with what its contract carries beyond the referral."""
    kind = ANNOUNCEMENTS[announces]
    if kind is ReferralCancelled:
        return ReferralCancelled.of(referral, now, reason_code=reason_code, by_side=str(side))
    if kind in (ReferralRejected, ReferralFailed):
        return kind.of(referral, now, reason_code=reason_code)
    if kind is ReferralCompleted:
        return ReferralCompleted.of(referral, now, outcome=referral.outcome)
    return kind.of(referral, now)


def announce_overdue(
    uow: UnitOfWork, now: datetime, response_time: timedelta = DEFAULT_RESPONSE_TIME
) -> int:
    """A partner silent past the response time: ``referral.overdue`` once."""
    late = list(
        uow.session.scalars(
            select(Referral)
            .where(
                Referral.status == domain.ReferralStatus.REQUESTED,
                Referral.overdue_announced.is_(False),
                Referral.sent_at <= now - response_time,
            )
            .with_for_update(skip_locked=True)
        )
    )
    for referral in late:
        referral.overdue_announced = True
        publish(uow, ReferralOverdue.of(referral, now, sent_at=referral.sent_at), referral, now)
    return len(late)
