"""Break the glass: time-limited, reason-stated emergency access to one client's crisis picture
(risk reasons, nominated persons, the case manager's contact), granted here and announced."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from services.intake.events import EmergencyAccessGranted
from services.intake.models import AUDIT, EMERGENCY_GRANTS, CaseManager, Client, RiskFlag
from services.intake.operations.access import client_event_ids, supervisor_of
from shared import emergency_access
from shared.db import new_id
from shared.errors import NotFound
from shared.identity import Principal
from shared.unit_of_work import UnitOfWork


def _existing_client(uow: UnitOfWork, client_id: str) -> Client:
    """Any client on record (emergency access is exactly for clients you do not carry); a merged
    duplicate answers with the record it was merged into."""
    client = uow.session.get(Client, client_id)
    if client is not None and client.merged_into_id:
        client = uow.session.get(Client, client.merged_into_id)
    if client is None:
        raise NotFound(f"No client {client_id}.")
    return client


def grant_emergency_access(
    uow: UnitOfWork, actor: Principal, client_id: str, *, now: datetime, hours: float
) -> dict[str, Any]:
    """Record the grant, audit it as emergency access and announce it (the supervisor is told)."""
    client = _existing_client(uow, client_id)
    grant = {
        "grant_id": new_id(),
        "client_id": client.id,
        "granted_to": actor.sub,
        "roles": sorted(actor.roles),
        "granted_at": now,
        "expires_at": emergency_access.expires_at(now, hours),
    }
    EMERGENCY_GRANTS.record(uow.session, grant)
    AUDIT.record(
        uow.session,
        actor,
        emergency_access.GRANTED,
        "client",
        client.id,
        client.id,
        emergency=True,
        grant_id=grant["grant_id"],
        hours=hours,
    )
    uow.publish(
        EmergencyAccessGranted(
            **client_event_ids(client),
            grant_id=grant["grant_id"],
            granted_to=actor.sub,
            roles=grant["roles"],
            granted_at=now,
            expires_at=grant["expires_at"],
            case_manager_id=client.case_manager_id,
            supervisor_id=supervisor_of(uow, client.case_manager_id),
        )
    )
    return {**grant, "client_reference": client.reference}


def crisis_picture(
    uow: UnitOfWork, actor: Principal, client_id: str, *, now: datetime
) -> dict[str, Any]:
    """What intake holds of the crisis picture, for a caller with a grant in force (404 otherwise:
    the client's existence is not revealed without one). Each read is audited as emergency."""
    grant = EMERGENCY_GRANTS.in_force(uow.session, client_id, actor.sub, now)
    client = uow.session.get(Client, client_id) if grant is not None else None
    if grant is None or client is None:
        raise NotFound(
            f"No emergency access to client {client_id} is in force for you: ask for it with "
            f"POST /clients/{client_id}/emergency-access and an X-Purpose header."
        )
    flags = uow.session.scalars(
        select(RiskFlag)
        .where(RiskFlag.client_id == client.id, RiskFlag.status == "open")
        .order_by(RiskFlag.opened_at)
    ).all()
    manager = (
        uow.session.get(CaseManager, client.case_manager_id) if client.case_manager_id else None
    )
    AUDIT.record(
        uow.session,
        actor,
        emergency_access.READ,
        "client",
        client.id,
        client.id,
        emergency=True,
        grant_id=grant.id,
    )
    return {
        "client_id": client.id,
        "client_reference": client.reference,
        "given_name": client.given_name,
        "family_name": client.family_name,
        "date_of_birth": client.date_of_birth,
        "contact": client.contact,
        "status": client.status,
        "grant_id": grant.id,
        "expires_at": grant.expires_at,
        "open_risk_flags": [
            {"level": f.level, "reasons": f.reasons, "opened_at": f.opened_at} for f in flags
        ],
        "nominated_persons": client.nominated_persons,
        "case_manager": None
        if manager is None
        else {
            "id": manager.id,
            "display_name": manager.display_name,
            "team": manager.team,
            "supervisor_id": manager.supervisor_id,
        },
    }
