"""Planning's part of break-the-glass access: grants kept from intake's announcement, and the
client's safety plan and crisis contacts read under one (each read audited as emergency)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from services.planning import domain
from services.planning.models import AUDIT, EMERGENCY_GRANTS, Plan
from services.planning.operations.access import plan_version
from shared import emergency_access
from shared.errors import NotFound
from shared.identity import Principal
from shared.unit_of_work import UnitOfWork

#: The safety plan's sections that say whom to call.
CRISIS_CONTACT_SECTIONS = ("people_to_ask_for_help", "professionals_and_crisis_lines")


def record_emergency_grant(uow: UnitOfWork, data: Mapping[str, Any]) -> bool:
    return EMERGENCY_GRANTS.record(uow.session, data)


def crisis_picture(
    uow: UnitOfWork, actor: Principal, client_id: str, *, now: datetime
) -> dict[str, Any]:
    """The safety plan the client agreed (else the one being written) and whom to call, for a
    caller holding a grant in force; 404 without one (it reaches here within seconds of intake
    granting it)."""
    grant = EMERGENCY_GRANTS.in_force(uow.session, client_id, actor.sub, now)
    if grant is None:
        raise NotFound(
            f"No emergency access to client {client_id} is in force here: ask intake for it "
            "(POST /clients/{id}/emergency-access with X-Purpose); it reaches planning within "
            "seconds, so retry shortly."
        )
    plan = uow.session.scalars(
        select(Plan).where(Plan.client_id == client_id).order_by(Plan.created_at.desc()).limit(1)
    ).first()
    safety_plan: dict[str, Any] | None = None
    if plan is not None:
        number = plan.approved_version or plan.current_version
        safety_plan = plan_version(uow, plan, number).content.get("safety_plan")
    AUDIT.record(
        uow.session,
        actor,
        emergency_access.READ,
        "plan" if plan else "client",
        plan.id if plan else client_id,
        client_id,
        emergency=True,
        grant_id=grant.id,
    )
    return {
        "client_id": client_id,
        "client_reference": plan.client_reference if plan else None,
        "grant_id": grant.id,
        "expires_at": grant.expires_at,
        "plan_id": plan.id if plan else None,
        "plan_status": plan.status if plan else None,
        "safety_plan": safety_plan,
        "safety_plan_sections": list(domain.SAFETY_PLAN_SECTIONS),
        "crisis_contacts": [
            entry
            for section in CRISIS_CONTACT_SECTIONS
            for entry in ((safety_plan or {}).get(section) or [])
        ],
    }
