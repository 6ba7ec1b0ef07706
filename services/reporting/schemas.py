"""Query arguments and response shapes of the reporting API."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.reporting.operations.exports import FORMATS
from shared.web.fields import Day

#: The longest period one request may ask for (figures are computed on request).
MAX_PERIOD_DAYS = 3660


class KpiArgs(Schema):
    programme = fields.String(validate=validate.Length(min=1, max=100))
    team = fields.String(validate=validate.Length(min=1, max=100))
    from_ = Day(
        required=True,
        data_key="from",
        metadata={"description": "First day, included (1900-01-01 to 2999-12-31)."},
    )
    to = Day(
        required=True,
        metadata={"description": "Last day, included (1900-01-01 to 2999-12-31)."},
    )

    @validates_schema
    def period_in_order(self, data: dict[str, Any], **_: Any) -> None:
        if "from_" in data and "to" in data:
            if data["from_"] > data["to"]:
                raise ValidationError("must not be before from", field_name="to")
            if (data["to"] - data["from_"]).days > MAX_PERIOD_DAYS:
                raise ValidationError(
                    f"a period is at most {MAX_PERIOD_DAYS} days", field_name="to"
                )


class FunderReportArgs(KpiArgs):
    format = fields.String(load_default="csv", validate=validate.OneOf(sorted(FORMATS)))


class RateOut(Schema):
    people = fields.Raw()
    out_of = fields.Raw()
    share = fields.Float(allow_none=True)


class DurationOut(Schema):
    people = fields.Raw()
    median_days = fields.Float(allow_none=True)


class OutcomeOut(Schema):
    people = fields.Raw()
    mean_baseline = fields.Float(allow_none=True)
    mean_latest = fields.Float(allow_none=True)
    mean_change = fields.Float(allow_none=True)
    reliable_improvement = fields.Nested(RateOut)
    response = fields.Nested(RateOut)
    remission = fields.Nested(RateOut)


class PartnerOut(Schema):
    sent = fields.Raw()
    accepted = fields.Raw()
    completed = fields.Raw()
    rejected = fields.Raw()
    rejection_reasons = fields.Dict(keys=fields.String(), values=fields.Raw())
    to_acceptance = fields.Nested(DurationOut)


class CaseloadOut(Schema):
    on = Day()
    case_manager_id = fields.String()
    team = fields.String(allow_none=True)
    clients = fields.Integer()
    cap = fields.Integer(allow_none=True)


class PeriodOut(Schema):
    from_ = Day(data_key="from")
    to = Day()


class DischargesOut(Schema):
    by_reason = fields.Dict(keys=fields.String(), values=fields.Raw())
    total = fields.Raw()


class KpisOut(Schema):
    period = fields.Nested(PeriodOut)
    programme = fields.String(allow_none=True)
    teams = fields.List(fields.String(), allow_none=True)
    people_in_care = fields.Raw()
    registrations = fields.Raw()
    registration_to_assignment = fields.Nested(DurationOut)
    days_to_plan_approval = fields.Nested(DurationOut)
    reviews_on_time = fields.Nested(RateOut)
    referrals_by_partner = fields.Dict(keys=fields.String(), values=fields.Nested(PartnerOut))
    crisis_alerts_acknowledged_in_15_minutes = fields.Nested(RateOut)
    outcomes = fields.Dict(keys=fields.String(), values=fields.Nested(OutcomeOut))
    discharges = fields.Nested(DischargesOut)
    caseload = fields.List(fields.Nested(CaseloadOut))
    not_yet_available = fields.List(fields.String())
