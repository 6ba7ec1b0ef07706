"""Request and response bodies of the care team and reported medications (marshmallow)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.web.fields import Day
from shared.web.paging import CursorPage

ROLES = (
    "psychiatrist",
    "gp",
    "therapist",
    "psychologist",
    "pharmacist",
    "nurse",
    "social_worker",
    "peer_worker",
    "other",
)
NAME = validate.Length(min=1, max=200)


class ProfessionalIn(Schema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    name = fields.String(required=True, validate=NAME)
    organisation = fields.String(load_default=None, allow_none=True, validate=NAME)
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))


class ProfessionalOut(Schema):
    id = fields.String()
    client_id = fields.String()
    role = fields.String()
    name = fields.String()
    organisation = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    added_by = fields.String()
    added_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)


class ProfessionalPage(CursorPage):
    items = fields.List(fields.Nested(ProfessionalOut))


class _MedicationDates(Schema):
    @validates_schema
    def _in_order(self, data: dict[str, object], **_: object) -> None:
        started, stopped = data.get("started_on"), data.get("stopped_on")
        if started and stopped and stopped < started:  # type: ignore[operator]
            raise ValidationError("stopped before it started", "stopped_on")


class MedicationIn(_MedicationDates):
    name = fields.String(required=True, validate=NAME)
    dose = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    prescriber = fields.String(load_default=None, allow_none=True, validate=NAME)
    started_on = Day(load_default=None, allow_none=True)
    stopped_on = Day(load_default=None, allow_none=True)


class MedicationPatch(_MedicationDates):
    dose = fields.String(allow_none=True, validate=validate.Length(max=100))
    prescriber = fields.String(allow_none=True, validate=NAME)
    started_on = Day(allow_none=True)
    stopped_on = Day(allow_none=True)


class MedicationOut(Schema):
    id = fields.String()
    client_id = fields.String()
    name = fields.String()
    dose = fields.String(allow_none=True)
    prescriber = fields.String(allow_none=True)
    started_on = fields.Date(allow_none=True)
    stopped_on = fields.Date(allow_none=True)
    recorded_by = fields.String()
    recorded_at = fields.DateTime()


class MedicationPage(CursorPage):
    items = fields.List(fields.Nested(MedicationOut))
