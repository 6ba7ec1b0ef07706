"""The resource directory: partner organisations and their services, and searching them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from services.referrals import domain
from services.referrals.models import AUDIT, Organization, Service
from shared.errors import Forbidden, Unprocessable
from shared.identity import Principal
from shared.pagination import Page, is_position, keyset_page
from shared.unit_of_work import UnitOfWork


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


def list_organizations(uow: UnitOfWork, *, limit: int, cursor: str | None) -> Page[Organization]:
    """The partner organisations, by id: what staff screens name them by."""
    return keyset_page(
        uow.session, select(Organization), [Organization.id], limit=limit, cursor=cursor
    )


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
