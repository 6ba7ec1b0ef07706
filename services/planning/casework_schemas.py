"""Request and response bodies of planning's casework: contacts, appointments, tasks, the
worklist and the calendar feed (marshmallow; documented in OpenAPI)."""

from __future__ import annotations

from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from services.planning.casework_domain import (
    NOWHERE,
    AppointmentStatus,
    ContactType,
    TaskPriority,
    TaskStatus,
    has_somewhere,
)
from services.planning.schemas import PlanPage
from shared.web.fields import Day, Moment
from shared.web.paging import CursorPage, PageArgs

SHORT = validate.Length(min=1, max=500)
NOTE = validate.Length(max=10_000)
MINUTES = validate.Range(min=1, max=24 * 60)
PARTICIPANT_KINDS = ("client", "nominated_person", "family", "professional", "other")


class ParticipantIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(PARTICIPANT_KINDS))
    description = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=200),
        metadata={"description": "Who (e.g. 'GP, Dr Patel'); the client needs none."},
    )


class DapNote(Schema):
    """Data (what was seen and said), Assessment (what it means), Plan (what happens next)."""

    data = fields.String(validate=NOTE)
    assessment = fields.String(validate=NOTE)
    plan = fields.String(validate=NOTE)


CONTACT_TYPE_DOC = (
    "The mode of contact: face_to_face, phone, video, home_visit, outreach, group, or "
    "collateral (with another professional about the client). `mode` is accepted as an alias."
)


class _ContactFields(Schema):
    contact_type = fields.Enum(
        ContactType, by_value=True, metadata={"description": CONTACT_TYPE_DOC}
    )
    mode = fields.Enum(
        ContactType,
        by_value=True,
        load_only=True,
        metadata={"description": "Alias of contact_type."},
    )
    duration_minutes = fields.Integer(validate=MINUTES, metadata={"description": "How long."})
    location = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    participants = fields.List(fields.Nested(ParticipantIn), validate=validate.Length(max=20))
    purpose = fields.String(validate=SHORT)
    note = fields.Nested(DapNote)
    goal_ids = fields.List(
        fields.String(validate=validate.Length(max=36)),
        validate=validate.Length(max=50),
        metadata={"description": "The plan's goals this contact worked on."},
    )

    #: Fields a new record needs (after ``mode`` counted as ``contact_type``).
    REQUIRED: tuple[str, ...] = ()

    @post_load
    def _alias(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        mode = data.pop("mode", None)
        if mode is not None:
            if data.get("contact_type") not in (None, mode):
                raise ValidationError("contact_type and mode differ", "mode")
            data["contact_type"] = mode
        missing = [field for field in self.REQUIRED if field not in data]
        if missing:
            raise ValidationError({f: ["Missing data for required field."] for f in missing})
        return data


class ContactIn(_ContactFields):
    occurred_at = Moment(required=True, metadata={"description": "When it happened."})
    sign = fields.Boolean(
        load_default=False, metadata={"description": "Sign the note now (it is then locked)."}
    )
    REQUIRED = ("contact_type", "duration_minutes", "purpose")


class ContactPatch(_ContactFields):
    #: Left out, the place stays what it was: a PATCH changes only what it names (a draft note
    #: saved from a form without the place never erases it).
    location = fields.String(allow_none=True, validate=validate.Length(max=200))


class AttendIn(_ContactFields):
    """The contact of an attended appointment: its time, place and length are the appointment's
    unless given."""

    occurred_at = Moment()
    sign = fields.Boolean(load_default=False)

    @pre_load
    def _purpose(self, data: Any, **_: Any) -> Any:
        if isinstance(data, dict) and "purpose" not in data:
            return {**data, "purpose": "Appointment"}
        return data


class AddendumIn(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=10_000))


class AddendumOut(Schema):
    id = fields.String()
    text = fields.String()
    written_by = fields.String()
    written_at = fields.DateTime()


class ParticipantOut(Schema):
    kind = fields.String()
    description = fields.String(allow_none=True)


class ContactOut(Schema):
    id = fields.String()
    client_id = fields.String()
    client_reference = fields.String()
    episode_id = fields.String()
    case_manager_id = fields.String()
    contact_type = fields.String()
    occurred_at = fields.DateTime()
    duration_minutes = fields.Integer()
    location = fields.String(allow_none=True)
    participants = fields.List(fields.Nested(ParticipantOut))
    purpose = fields.String()
    note = fields.Nested(DapNote)
    goal_ids = fields.List(fields.String())
    appointment_id = fields.String(allow_none=True)
    recorded_at = fields.DateTime()
    recorded_by = fields.String()
    late = fields.Boolean(metadata={"description": "Recorded more than 24 hours after it."})
    signed = fields.Boolean()
    signed_at = fields.DateTime(allow_none=True)
    signed_by = fields.String(allow_none=True)
    addenda = fields.List(fields.Nested(AddendumOut))


class ContactPage(CursorPage):
    items = fields.List(fields.Nested(ContactOut))


class AppointmentIn(Schema):
    starts_at = Moment(required=True)
    duration_minutes = fields.Integer(load_default=60, validate=MINUTES)
    location = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    video_link = fields.Url(
        load_default=None, allow_none=True, schemes={"https"}, validate=validate.Length(max=500)
    )
    with_whom = fields.List(
        fields.String(validate=validate.Length(min=1, max=200)),
        load_default=list,
        validate=validate.Length(max=20),
        metadata={"description": "Who takes part besides the client and case manager."},
    )

    @validates_schema
    def _somewhere(self, data: dict[str, Any], **_: Any) -> None:
        """A place, a video link or both: a 422 naming ``location`` without either."""
        if not has_somewhere(data.get("location"), data.get("video_link")):
            raise ValidationError(NOWHERE, "location")


class RescheduleIn(Schema):
    starts_at = Moment(required=True)
    duration_minutes = fields.Integer(validate=MINUTES)
    location = fields.String(allow_none=True, validate=validate.Length(max=200))
    video_link = fields.Url(allow_none=True, schemes={"https"}, validate=validate.Length(max=500))
    reason = fields.String(load_default=None, allow_none=True, validate=SHORT)


class OutcomeIn(Schema):
    status = fields.String(
        required=True,
        validate=validate.OneOf(
            (AppointmentStatus.CANCELLED.value, AppointmentStatus.NO_SHOW.value)
        ),
    )
    reason = fields.String(load_default=None, allow_none=True, validate=SHORT)


class AppointmentOut(Schema):
    id = fields.String()
    client_id = fields.String()
    client_reference = fields.String()
    episode_id = fields.String()
    case_manager_id = fields.String()
    starts_at = fields.DateTime()
    duration_minutes = fields.Integer()
    location = fields.String(allow_none=True)
    video_link = fields.String(allow_none=True)
    with_whom = fields.List(fields.String())
    status = fields.String()
    allowed_transitions = fields.List(fields.String())
    status_reason = fields.String(allow_none=True)
    contact_id = fields.String(allow_none=True)
    rescheduled_to_id = fields.String(allow_none=True)
    created_at = fields.DateTime()


class AppointmentPage(CursorPage):
    items = fields.List(fields.Nested(AppointmentOut))


class AttendedOut(Schema):
    appointment = fields.Nested(AppointmentOut)
    contact = fields.Nested(ContactOut)


class MyAppointmentArgs(PageArgs):
    from_ = Moment(data_key="from", load_default=None)
    to = Moment(load_default=None)


class TaskIn(Schema):
    title = fields.String(required=True, validate=SHORT)
    due_on = Day(required=True)
    priority = fields.String(
        load_default="normal",
        validate=validate.OneOf([p.name.lower() for p in TaskPriority]),
    )
    client_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))


class TaskCloseIn(Schema):
    status = fields.String(
        required=True, validate=validate.OneOf((TaskStatus.DONE.value, TaskStatus.DISMISSED.value))
    )
    reason = fields.String(
        load_default=None,
        allow_none=True,
        validate=SHORT,
        metadata={"description": "Why (required to dismiss)."},
    )


class TaskOut(Schema):
    id = fields.String()
    source = fields.String(metadata={"description": "What raised it (manual, review_due, …)."})
    owner_id = fields.String(allow_none=True)
    client_id = fields.String(allow_none=True)
    client_reference = fields.String(allow_none=True)
    title = fields.String()
    due_on = fields.Date()
    due_at = fields.DateTime(
        allow_none=True,
        metadata={
            "description": "The exact time it falls due, for work counted in hours "
            "(a crisis follow-up within 24 or 72 hours); null otherwise."
        },
    )
    crisis_episode_id = fields.String(
        allow_none=True, metadata={"description": "A crisis follow-up's crisis episode."}
    )
    priority = fields.String()
    status = fields.String()
    late = fields.Boolean(
        metadata={"description": "Open and past its due time (due_at) or due date."}
    )
    created_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    closed_by = fields.String(allow_none=True)
    close_reason = fields.String(allow_none=True)


class TaskPage(CursorPage):
    items = fields.List(fields.Nested(TaskOut))


class TeamWorklistArgs(PageArgs):
    late_only = fields.Boolean(
        load_default=True, metadata={"description": "Only tasks past their due date (default)."}
    )


class CalendarFeedOut(Schema):
    url = fields.String(metadata={"description": "Subscribe to it; keep it secret."})
    path = fields.String()


class DischargeSummaryIn(Schema):
    reason = fields.String(allow_none=True, validate=SHORT)
    services_received = fields.List(
        fields.String(validate=validate.Length(min=1, max=200)), validate=validate.Length(max=50)
    )
    follow_up = fields.String(allow_none=True, validate=validate.Length(max=5_000))
    told = fields.List(
        fields.String(validate=validate.Length(min=1, max=200)),
        validate=validate.Length(max=20),
        metadata={"description": "Who was told of the discharge (GP, family, partner…)."},
    )


class GoalAchievedOut(Schema):
    goal_id = fields.String()
    domain = fields.String()


class ScoreSpan(Schema):
    start = fields.Integer(allow_none=True)
    end = fields.Integer(allow_none=True)


class DischargeSummaryOut(Schema):
    episode_id = fields.String()
    client_id = fields.String()
    client_reference = fields.String()
    reason = fields.String(allow_none=True)
    services_received = fields.List(fields.String())
    goals_achieved = fields.List(fields.Nested(GoalAchievedOut))
    phq9 = fields.Nested(ScoreSpan)
    gad7 = fields.Nested(ScoreSpan)
    follow_up = fields.String(allow_none=True)
    told = fields.List(fields.String())
    discharged_at = fields.DateTime(allow_none=True)
    written_by = fields.String(allow_none=True)
    updated_at = fields.DateTime()
    readable_until = fields.DateTime(
        allow_none=True,
        metadata={
            "description": "When the caller's hand-over access to the discharged episode ends "
            "(PLANNING_CONTINUITY_DAYS after the discharge); null for whoever carries the "
            "client now, and for an admin."
        },
    )


class ClientCaseworkOut(Schema):
    """A client's casework as the record screen shows it, in one request. Each list is its first
    page (plans oldest first, contacts newest first, appointments earliest first): a
    ``next_cursor`` continues it at the list's own endpoint."""

    plans = fields.Nested(PlanPage)
    contacts = fields.Nested(
        ContactPage,
        allow_none=True,
        metadata={
            "description": "null when you see plans of the client but may read none of its "
            "episodes' casework (GET /clients/{id}/contacts would be a 404)."
        },
    )
    appointments = fields.Nested(
        AppointmentPage,
        allow_none=True,
        metadata={"description": "null as contacts are."},
    )
