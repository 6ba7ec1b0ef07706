"""``GET /audit``: the admin's view of a service's audit trail, the same in every service."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from shared.audit import AuditTrail
from shared.web.auth import require_roles
from shared.web.fields import Moment
from shared.web.paging import CursorPage, PageArgs
from shared.web.query import Blueprint
from shared.web.service_app import current_runtime


class AuditArgs(PageArgs):
    client_id = fields.String()
    actor = fields.String()
    since = Moment(data_key="from", metadata={"description": "Rows at or after this moment"})
    until = Moment(data_key="to", metadata={"description": "Rows before this moment"})


class AuditEntryOut(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    roles = fields.List(fields.String())
    action = fields.String()
    entity = fields.String()
    entity_id = fields.String(allow_none=True)
    client_id = fields.String(allow_none=True)
    correlation_id = fields.String(allow_none=True)
    purpose = fields.String(
        allow_none=True,
        metadata={"description": "Why: the caller's X-Purpose header, else the operation"},
    )
    detail = fields.Dict()
    emergency = fields.Function(
        lambda row: bool((getattr(row, "detail", None) or {}).get("emergency")),
        metadata={"description": "A read or grant under break-the-glass emergency access"},
    )
    lane = fields.Integer(
        metadata={
            "description": "The chain (lane) this row is linked into: prev_hash is the "
            "row_hash of the lane's row before it"
        }
    )
    prev_hash = fields.String(allow_none=True)
    row_hash = fields.String(
        allow_none=True, metadata={"description": "This row's link in the hash chain"}
    )


class AuditPage(CursorPage):
    items = fields.List(fields.Nested(AuditEntryOut))


def audit_blueprint(trail: AuditTrail) -> Blueprint:
    blueprint = Blueprint(
        "audit",
        __name__,
        url_prefix="/audit",
        description="Who read or changed which client record",
    )

    @blueprint.route("", methods=["GET"])
    @require_roles("admin")
    @blueprint.arguments(AuditArgs, location="query")
    @blueprint.response(200, AuditPage)
    def audit_log(args: dict[str, Any]) -> Any:
        """The audit trail, oldest first; filter by client or actor."""
        with current_runtime().unit_of_work() as uow:
            page = trail.page(
                uow.session,
                client_id=args.get("client_id"),
                actor_id=args.get("actor"),
                since=args.get("since"),
                until=args.get("until"),
                limit=args["limit"],
                cursor=args["cursor"],
            )
        return {"items": page.items, "next_cursor": page.next_cursor}

    return blueprint
