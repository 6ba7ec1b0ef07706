"""HTTP in and out for casework: contacts and their notes, appointments and the calendar feed,
tasks and the worklists. Each view runs one operation in a unit of work."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Response, request

from services.planning import casework_domain
from services.planning.casework_schemas import (
    AddendumIn,
    AppointmentIn,
    AppointmentOut,
    AppointmentPage,
    AttendedOut,
    AttendIn,
    CalendarFeedOut,
    ContactIn,
    ContactOut,
    ContactPage,
    ContactPatch,
    DischargeSummaryIn,
    DischargeSummaryOut,
    MyAppointmentArgs,
    OutcomeIn,
    RescheduleIn,
    TaskCloseIn,
    TaskIn,
    TaskOut,
    TaskPage,
    TeamWorklistArgs,
)
from services.planning.models import Appointment, Contact, Task
from services.planning.operations import appointments, calendar, contacts, discharge, tasks
from shared.clock import agency_date
from shared.web import current_principal, require_roles
from shared.web.paging import PageArgs, page_body
from shared.web.query import Blueprint
from shared.web.service_app import current_runtime

READERS = ("case_manager", "supervisor", "admin")
EDITORS = ("case_manager", "supervisor")
LOCKED = "The note is signed and locked (add an addendum), or not signed yet (for an addendum)."

contact_bp = Blueprint(
    "contacts", __name__, description="Contacts with clients and their signed DAP notes"
)
appointment_bp = Blueprint(
    "appointments", __name__, description="Appointments and the case manager's calendar feed"
)
worklist_bp = Blueprint("worklist", __name__, description="Tasks and the worklists")
discharge_bp = Blueprint(
    "discharge", __name__, description="Discharge summaries and the hand-over period"
)
CASEWORK_BLUEPRINTS = [contact_bp, appointment_bp, worklist_bp, discharge_bp]

CONTACT_EXAMPLE = {
    "contact_type": "home_visit",
    "occurred_at": "2026-11-02T10:00:00+00:00",
    "duration_minutes": 45,
    "location": "Client's flat",
    "participants": [{"kind": "client"}, {"kind": "professional", "description": "GP"}],
    "purpose": "Check on tenancy and mood",
    "note": {
        "data": "Flat tidy; reports sleeping better.",
        "assessment": "Mood improving; tenancy at risk over arrears.",
        "plan": "Apply for hardship fund by Friday.",
    },
    "goal_ids": [],
    "sign": True,
}


def _uow() -> Any:
    return current_runtime().unit_of_work()


def _now() -> Any:
    return current_runtime().clock.now()


def _columns(record: Any) -> dict[str, Any]:
    return {column.key: getattr(record, column.key) for column in record.__table__.columns}


def contact_out(
    uow: Any, contact: Contact, addenda: dict[str, list[Any]] | None = None
) -> dict[str, Any]:
    """``addenda``: a page's addenda looked up at once (``contacts.addenda_of``); else a query."""
    return {
        **_columns(contact),
        "signed": contact.signed_at is not None,
        "addenda": addenda[contact.id] if addenda is not None else contacts.addenda(uow, contact),
    }


def appointment_out(appointment: Appointment) -> dict[str, Any]:
    return {
        **_columns(appointment),
        "allowed_transitions": sorted(
            s.value
            for s in casework_domain.APPOINTMENT_TRANSITIONS[
                casework_domain.AppointmentStatus(appointment.status)
            ]
        ),
    }


def _task_out(task: Task, now: datetime) -> dict[str, Any]:
    """``late``: past its due time when it has one (a crisis follow-up), else its due day."""
    due_passed = task.due_at < now if task.due_at else task.due_on < agency_date(now)
    return {
        **_columns(task),
        "priority": casework_domain.TaskPriority(task.priority).name.lower(),
        "late": task.status == casework_domain.TaskStatus.OPEN and due_passed,
    }


# --- contacts -------------------------------------------------------------------------------------


@contact_bp.route("/clients/<client_id>/contacts", methods=["POST"])
@require_roles(*EDITORS)
@contact_bp.arguments(ContactIn, example=CONTACT_EXAMPLE)
@contact_bp.response(201, ContactOut)
def record_contact(body: dict[str, Any], client_id: str) -> Any:
    """Record a contact (from assignment on, before any plan); `sign: true` locks the note. A
    contact recorded more than 24 hours after it happened is marked late."""
    with _uow() as uow:
        contact = contacts.record_contact(uow, current_principal(), client_id, body, _now())
        return contact_out(uow, contact)


@contact_bp.route("/clients/<client_id>/contacts", methods=["GET"])
@require_roles(*READERS)
@contact_bp.arguments(PageArgs, location="query")
@contact_bp.response(200, ContactPage)
def list_contacts(args: dict[str, Any], client_id: str) -> Any:
    """The client's contacts, newest first."""
    with _uow() as uow:
        page = contacts.list_contacts(
            uow, current_principal(), client_id, limit=args["limit"], cursor=args["cursor"]
        )
        addenda = contacts.addenda_of(uow, page.items)
        return page_body(page, [contact_out(uow, c, addenda) for c in page.items])


@contact_bp.route("/contacts/<contact_id>", methods=["GET"])
@require_roles(*READERS)
@contact_bp.response(200, ContactOut)
def read_contact(contact_id: str) -> Any:
    """One contact with its note and addenda."""
    with _uow() as uow:
        return contact_out(uow, contacts.read_contact(uow, current_principal(), contact_id))


@contact_bp.route("/contacts/<contact_id>", methods=["PATCH"])
@require_roles(*EDITORS)
@contact_bp.arguments(ContactPatch, example={"note": {"plan": "Call the landlord Monday."}})
@contact_bp.response(200, ContactOut)
@contact_bp.alt_response(409, description=LOCKED)
def update_contact(changes: dict[str, Any], contact_id: str) -> Any:
    """Change a note not yet signed (a signed one is a 409: add an addendum)."""
    with _uow() as uow:
        contact = contacts.update_contact(uow, current_principal(), contact_id, changes, _now())
        return contact_out(uow, contact)


@contact_bp.route("/contacts/<contact_id>/sign", methods=["POST"])
@require_roles(*EDITORS)
@contact_bp.response(200, ContactOut)
@contact_bp.alt_response(409, description=LOCKED)
def sign_contact(contact_id: str) -> Any:
    """Sign the note (every DAP section written); from then on it never changes."""
    with _uow() as uow:
        contact = contacts.sign_contact(uow, current_principal(), contact_id, _now())
        return contact_out(uow, contact)


@contact_bp.route("/contacts/<contact_id>/addenda", methods=["POST"])
@require_roles(*EDITORS)
@contact_bp.arguments(AddendumIn, example={"text": "Correction: the GP was Dr Ahmed."})
@contact_bp.response(201, ContactOut)
@contact_bp.alt_response(409, description=LOCKED)
def add_addendum(body: dict[str, Any], contact_id: str) -> Any:
    """Correct or add to a signed note; the note itself stays as signed."""
    with _uow() as uow:
        contacts.add_addendum(uow, current_principal(), contact_id, body["text"], _now())
        return contact_out(uow, contacts.read_contact(uow, current_principal(), contact_id))


# --- appointments -----------------------------------------------------------------------------


@appointment_bp.route("/clients/<client_id>/appointments", methods=["POST"])
@require_roles(*EDITORS)
@appointment_bp.arguments(
    AppointmentIn,
    example={
        "starts_at": "2026-12-02T14:00:00+00:00",
        "duration_minutes": 60,
        "location": "Riverside clinic, room 2",
        "with_whom": ["Housing officer"],
    },
)
@appointment_bp.response(201, AppointmentOut)
def schedule(body: dict[str, Any], client_id: str) -> Any:
    """Book an appointment with the client: a place, an https video link or both (neither is
    a 422 naming ``location``)."""
    with _uow() as uow:
        return appointment_out(appointments.schedule(uow, current_principal(), client_id, body))


@appointment_bp.route("/clients/<client_id>/appointments", methods=["GET"])
@require_roles(*READERS)
@appointment_bp.arguments(PageArgs, location="query")
@appointment_bp.response(200, AppointmentPage)
def list_appointments(args: dict[str, Any], client_id: str) -> Any:
    """The client's appointments, earliest first."""
    with _uow() as uow:
        page = appointments.list_appointments(
            uow, current_principal(), client_id, limit=args["limit"], cursor=args["cursor"]
        )
        return page_body(page, [appointment_out(a) for a in page.items])


@appointment_bp.route("/appointments/<appointment_id>", methods=["GET"])
@require_roles(*READERS)
@appointment_bp.response(200, AppointmentOut)
def read_appointment(appointment_id: str) -> Any:
    """One appointment and the moves it still allows."""
    with _uow() as uow:
        return appointment_out(
            appointments.read_appointment(uow, current_principal(), appointment_id)
        )


@appointment_bp.route("/appointments/<appointment_id>/attend", methods=["POST"])
@require_roles(*EDITORS)
@appointment_bp.arguments(
    AttendIn,
    example={"contact_type": "face_to_face", "note": {"data": "Came with sister."}},
)
@appointment_bp.response(200, AttendedOut)
@appointment_bp.alt_response(409, description="The appointment is no longer scheduled.")
def attend(body: dict[str, Any], appointment_id: str) -> Any:
    """The client came: the appointment is attended and its contact recorded in one step."""
    with _uow() as uow:
        appointment, contact = appointments.attend(
            uow, current_principal(), appointment_id, body, _now()
        )
        return {"appointment": appointment_out(appointment), "contact": contact_out(uow, contact)}


@appointment_bp.route("/appointments/<appointment_id>/outcome", methods=["POST"])
@require_roles(*EDITORS)
@appointment_bp.arguments(OutcomeIn, example={"status": "no_show", "reason": "No answer at door"})
@appointment_bp.response(200, AppointmentOut)
@appointment_bp.alt_response(409, description="The appointment is no longer scheduled.")
def record_outcome(body: dict[str, Any], appointment_id: str) -> Any:
    """Cancelled, or a no-show (which makes a follow-up task)."""
    with _uow() as uow:
        return appointment_out(
            appointments.record_outcome(
                uow, current_principal(), appointment_id, body["status"], body["reason"], _now()
            )
        )


@appointment_bp.route("/appointments/<appointment_id>/reschedule", methods=["POST"])
@require_roles(*EDITORS)
@appointment_bp.arguments(
    RescheduleIn, example={"starts_at": "2026-12-03T14:00:00+00:00", "reason": "Client asked"}
)
@appointment_bp.response(201, AppointmentOut)
@appointment_bp.alt_response(409, description="The appointment is no longer scheduled.")
def reschedule(body: dict[str, Any], appointment_id: str) -> Any:
    """Move the appointment: a new one is booked and the old one says where it went."""
    with _uow() as uow:
        return appointment_out(
            appointments.reschedule(uow, current_principal(), appointment_id, body, _now())
        )


@appointment_bp.route("/me/appointments", methods=["GET"])
@require_roles(*EDITORS)
@appointment_bp.arguments(MyAppointmentArgs, location="query")
@appointment_bp.response(200, AppointmentPage)
def my_appointments(args: dict[str, Any]) -> Any:
    """Your appointments from `from` (default: now) to `to` (default: 14 days later)."""
    start = args.get("from_") or _now()
    end = args.get("to") or start + timedelta(days=14)
    with _uow() as uow:
        page = appointments.my_appointments(
            uow, current_principal(), start, end, limit=args["limit"], cursor=args["cursor"]
        )
        return page_body(page, [appointment_out(a) for a in page.items])


@appointment_bp.route("/me/calendar-feed", methods=["POST"])
@require_roles(*EDITORS)
@appointment_bp.response(201, CalendarFeedOut)
def issue_calendar_feed() -> Any:
    """A secret iCalendar URL of your appointments for your own calendar (client references
    only, never names). Asking again gives a new URL and ends the old one."""
    with _uow() as uow:
        secret = calendar.issue_feed(uow, current_principal())
    path = f"/calendar/{secret}.ics"
    return {"path": path, "url": request.host_url.rstrip("/") + path}


@appointment_bp.route("/me/calendar-feed", methods=["DELETE"])
@require_roles(*EDITORS)
@appointment_bp.response(204)
@appointment_bp.alt_response(404, description="You have no calendar feed.")
def revoke_calendar_feed() -> Any:
    """Revoke your calendar URL: it answers 404 from now on."""
    with _uow() as uow:
        calendar.revoke_feed(uow, current_principal())
    return None


@appointment_bp.route("/calendar/<secret>.ics", methods=["GET"])
@appointment_bp.doc(security=[])  # the secret in the URL is the credential
@appointment_bp.response(
    200,
    content_type="text/calendar",
    description="RFC 5545 iCalendar; the secret in the URL is the credential (no bearer token).",
)
def calendar_feed(secret: str) -> Any:
    """A case manager's appointments as iCalendar, for their calendar app to subscribe to."""
    with _uow() as uow:
        body = calendar.feed(uow, secret, _now())
    return Response(body, mimetype="text/calendar", headers={"Cache-Control": "private, no-store"})


# --- tasks and worklists ------------------------------------------------------------------------


@worklist_bp.route("/tasks", methods=["POST"])
@require_roles(*EDITORS)
@worklist_bp.arguments(
    TaskIn, example={"title": "Call the housing officer", "due_on": "2026-12-01"}
)
@worklist_bp.response(201, TaskOut)
@worklist_bp.alt_response(404, description="The client named is not one you carry.")
def create_task(body: dict[str, Any]) -> Any:
    """A task of your own (about a client you carry, when `client_id` is given)."""
    with _uow() as uow:
        task = tasks.create_task(uow, current_principal(), body, _now())
        return _task_out(task, current_runtime().clock.now())


@worklist_bp.route("/tasks/<task_id>/close", methods=["POST"])
@require_roles(*EDITORS)
@worklist_bp.arguments(TaskCloseIn, example={"status": "done"})
@worklist_bp.response(200, TaskOut)
@worklist_bp.alt_response(409, description="The task is already done or dismissed.")
def close_task(body: dict[str, Any], task_id: str) -> Any:
    """Done, or dismissed with a reason."""
    with _uow() as uow:
        task = tasks.close_task(
            uow, current_principal(), task_id, body["status"], body["reason"], _now()
        )
        return _task_out(task, current_runtime().clock.now())


@worklist_bp.route("/me/worklist", methods=["GET"])
@require_roles(*EDITORS)
@worklist_bp.arguments(PageArgs, location="query")
@worklist_bp.response(200, TaskPage)
def my_worklist(args: dict[str, Any]) -> Any:
    """Your day: open tasks, earliest due first, then the most pressing (`late` marks overdue)."""
    now = current_runtime().clock.now()
    with _uow() as uow:
        page = tasks.my_worklist(
            uow, current_principal(), limit=args["limit"], cursor=args["cursor"]
        )
        return page_body(page, [_task_out(t, now) for t in page.items])


@worklist_bp.route("/teams/<team_id>/worklist", methods=["GET"])
@require_roles("supervisor", "admin")
@worklist_bp.arguments(TeamWorklistArgs, location="query")
@worklist_bp.response(200, TaskPage)
def team_worklist(args: dict[str, Any], team_id: str) -> Any:
    """What is late in a team you supervise (`late_only=false`: every open task)."""
    now = current_runtime().clock.now()
    today = agency_date(now)
    with _uow() as uow:
        page = tasks.team_worklist(
            uow,
            current_principal(),
            team_id,
            today,
            late_only=args["late_only"],
            limit=args["limit"],
            cursor=args["cursor"],
        )
        return page_body(page, [_task_out(t, now) for t in page.items])


# --- discharge ----------------------------------------------------------------------------------


def _summary_out(found: discharge.SummaryRead) -> dict[str, Any]:
    scores = found.scores
    return {
        **_columns(found.summary),
        "goals_achieved": found.goals_achieved,
        "readable_until": found.readable_until,
        "phq9": {
            "start": getattr(scores, "phq9_start", None),
            "end": getattr(scores, "phq9_end", None),
        },
        "gad7": {
            "start": getattr(scores, "gad7_start", None),
            "end": getattr(scores, "gad7_end", None),
        },
    }


@discharge_bp.route("/clients/<client_id>/discharge-summary", methods=["PUT"])
@require_roles(*EDITORS)
@discharge_bp.arguments(
    DischargeSummaryIn,
    example={
        "reason": "Goals met; housed and stable",
        "services_received": ["Case management", "Housing First tenancy support"],
        "follow_up": "GP review in 4 weeks; peer group weekly",
        "told": ["GP", "Sister (nominated person)", "Housing First"],
    },
)
@discharge_bp.response(200, DischargeSummaryOut)
def write_discharge_summary(body: dict[str, Any], client_id: str) -> Any:
    """Write the summary before the discharge, or within the hand-over period after it; goals
    achieved and the first and last PHQ-9/GAD-7 are filled in from the record."""
    with _uow() as uow:
        discharge.write_summary(uow, current_principal(), client_id, body, _now())
        return _summary_out(discharge.read_summary(uow, current_principal(), client_id, _now()))


@discharge_bp.route("/clients/<client_id>/discharge-summary", methods=["GET"])
@require_roles(*READERS)
@discharge_bp.response(200, DischargeSummaryOut)
def read_discharge_summary(client_id: str) -> Any:
    """The client's latest discharge summary (the former case manager reads it for
    PLANNING_CONTINUITY_DAYS after the discharge; every read is audited)."""
    with _uow() as uow:
        return _summary_out(discharge.read_summary(uow, current_principal(), client_id, _now()))
