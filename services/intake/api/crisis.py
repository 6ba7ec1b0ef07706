"""Emergency access (break the glass): on-call staff reach a client they are not assigned to,
with a stated purpose, for a limited time, audited."""

from __future__ import annotations

from typing import Any

from services.intake import operations
from services.intake.api.common import (
    clients_bp,
    request_now,
    request_uow,
)
from services.intake.rights_schemas import CrisisPictureOut, EmergencyGrantOut
from shared import emergency_access
from shared.web import current_principal, require_roles
from shared.web.request_context import required_purpose
from shared.web.service_app import current_runtime


# -- emergency access (break the glass) --------------------------------------------------------
@clients_bp.route("/<client_id>/emergency-access", methods=["POST"])
@require_roles(*emergency_access.EMERGENCY_ROLES)
@clients_bp.response(201, EmergencyGrantOut)
@clients_bp.alt_response(400, description="No X-Purpose header: the reason is required.")
def grant_emergency_access(client_id: str) -> Any:
    """Break the glass: emergency access to this client's crisis picture in every service that
    holds part of it, for CASEHUB_EMERGENCY_ACCESS_HOURS (12), with a required X-Purpose; audited
    as emergency access and announced to the client's supervisor."""
    required_purpose(emergency_access.PURPOSE_WHY)
    runtime = current_runtime()
    with request_uow() as uow:
        return operations.grant_emergency_access(
            uow,
            current_principal(),
            client_id,
            now=request_now(),
            hours=runtime.settings.emergency_access_hours,
        )


@clients_bp.route("/<client_id>/emergency-access/crisis-picture", methods=["GET"])
@require_roles(*emergency_access.EMERGENCY_ROLES)
@clients_bp.response(200, CrisisPictureOut)
def read_crisis_picture(client_id: str) -> Any:
    """Intake's part of the crisis picture under an emergency grant in force (404 without one,
    or once it has expired); every read is audited as emergency access (X-Purpose required)."""
    required_purpose(emergency_access.PURPOSE_WHY)
    with request_uow() as uow:
        return operations.crisis_picture(uow, current_principal(), client_id, now=request_now())
