"""Request and response bodies of break-the-glass access, the crisis picture and the client's
rights over the record: legal hold, erasure, retention and corrections (marshmallow)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.intake.operations.corrections import CORRECTABLE
from services.intake.schemas import Contact, NominatedPersonOut
from shared.web.paging import CursorPage


class EmergencyGrantOut(Schema):
    grant_id = fields.String()
    client_id = fields.String()
    client_reference = fields.String(metadata={"example": "C-1042"})
    granted_to = fields.String()
    roles = fields.List(fields.String())
    granted_at = fields.DateTime()
    expires_at = fields.DateTime(
        metadata={"description": "Access ends then (CASEHUB_EMERGENCY_ACCESS_HOURS, default 12)"}
    )


class CrisisFlagOut(Schema):
    level = fields.String()
    reasons = fields.List(fields.String())
    opened_at = fields.DateTime()


class CrisisCaseManagerOut(Schema):
    id = fields.String()
    display_name = fields.String()
    team = fields.String()
    supervisor_id = fields.String(allow_none=True)


class CrisisPictureOut(Schema):
    """Intake's part of the crisis picture: who the client is, why they are at risk, whom to
    call (nominated persons) and who carries them."""

    client_id = fields.String()
    client_reference = fields.String()
    given_name = fields.String()
    family_name = fields.String()
    date_of_birth = fields.Date()
    contact = fields.Nested(Contact)
    status = fields.String()
    grant_id = fields.String()
    expires_at = fields.DateTime()
    open_risk_flags = fields.List(fields.Nested(CrisisFlagOut))
    nominated_persons = fields.List(fields.Nested(NominatedPersonOut))
    case_manager = fields.Nested(CrisisCaseManagerOut, allow_none=True)


class LegalHoldIn(Schema):
    hold = fields.Boolean(required=True)
    reason = fields.String(validate=validate.Length(min=1, max=500), load_default=None)


class ErasureReportOut(Schema):
    service = fields.String()
    erased = fields.Dict(keys=fields.String(), values=fields.Integer())
    reported_at = fields.DateTime()


class RetentionOut(Schema):
    client_id = fields.String()
    client_reference = fields.String()
    legal_hold = fields.Boolean()
    legal_hold_reason = fields.String(allow_none=True)
    retention_years = fields.Float()
    expires_on = fields.Date(allow_none=True, metadata={"description": "None while in care"})
    erased_at = fields.DateTime(allow_none=True)
    reports = fields.List(fields.Nested(ErasureReportOut))


class CorrectionIn(Schema):
    field = fields.String(required=True, validate=validate.OneOf(CORRECTABLE))
    requested_value = fields.String(required=True, validate=validate.Length(min=1, max=10_000))
    reason = fields.String(validate=validate.Length(max=5_000), load_default=None)


class CorrectionDecisionIn(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(("accepted", "refused")))
    note = fields.String(validate=validate.Length(max=5_000), load_default=None)
    client_statement = fields.String(
        validate=validate.Length(max=10_000),
        load_default=None,
        metadata={"description": "Required when refused: the client's own statement, attached"},
    )


class CorrectionOut(Schema):
    id = fields.String()
    client_id = fields.String()
    field = fields.String()
    requested_value = fields.String()
    reason = fields.String(allow_none=True)
    requested_by = fields.String()
    requested_at = fields.DateTime()
    status = fields.String(metadata={"description": "requested, accepted or refused"})
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_note = fields.String(allow_none=True)
    client_statement = fields.String(allow_none=True)


class CorrectionPage(CursorPage):
    items = fields.List(fields.Nested(CorrectionOut))
