"""``GET /privacy/clients/{client_id}/export``: one service's part of a client's access request,
the same in every service that holds client data (``casehub privacy export`` gathers them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, fields
from sqlalchemy import MetaData

from shared.audit import AuditTrail
from shared.privacy import client_record
from shared.web.auth import current_principal, require_roles
from shared.web.query import Blueprint
from shared.web.service_app import current_runtime


class PrivacyExportOut(Schema):
    service = fields.String()
    client_id = fields.String()
    exported_at = fields.DateTime()
    tables = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.Dict()),
        metadata={"description": "Table -> the client's rows in it, notes decrypted"},
    )


def privacy_blueprint(service: str, metadata: MetaData, trail: AuditTrail) -> Blueprint:
    blueprint = Blueprint(
        "privacy",
        __name__,
        url_prefix="/privacy",
        description="The client's rights: what this service holds about them",
    )

    @blueprint.route("/clients/<client_id>/export", methods=["GET"])
    @require_roles("admin")
    @blueprint.response(200, PrivacyExportOut)
    def export_client(client_id: str) -> Any:
        """Everything this service holds about the client (an access request); audited."""
        runtime = current_runtime()
        with runtime.unit_of_work() as uow:
            tables = client_record(uow.session, metadata, client_id)
            trail.record(
                uow.session,
                current_principal(),
                "privacy.export",
                "client",
                client_id,
                client_id,
                tables=sorted(tables),
            )
        return {
            "service": service,
            "client_id": client_id,
            "exported_at": datetime.now(UTC),
            "tables": tables,
        }

    return blueprint
