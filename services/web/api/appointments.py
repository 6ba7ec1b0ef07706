"""Appointments on the client record and their moves (attended, cancelled, no-show,
rescheduled): planning's answers decide which moves show."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import redirect, request, url_for

from services.web import forms, screens
from services.web.api.common import (
    CASEWORK,
    EDITORS,
    attempt,
    caller,
    flash,
    page,
    pages,
    refused_status,
    roles,
    signed_in,
)
from services.web.api.discharged import client_or_reference
from services.web.backend import ApiError, Caller
from services.web.refusals import Form, refusal, refused

#: An appointment's moves as buttons: the API's ``allowed_transitions`` decides which show.
APPOINTMENT_MOVES = ("attended", "cancelled", "no_show", "rescheduled")
#: Whether it was attended or missed is known once the appointment has begun.
AFTER_START = ("attended", "no_show")
NOWHERE = "Enter a place or a video link (or both): an appointment happens somewhere."
NOT_YET = "The appointment has not started yet: record a no-show once its time has passed."


@pages.get("/clients/<client_id>/appointments/new")
@signed_in(*EDITORS)
@page
def new_appointment(client_id: str) -> Any:
    return "appointment_form.html", {
        "client": caller().get("intake", f"/clients/{client_id}"),
        "form": None,
        "now": screens.datetime_field(datetime.now(UTC)),
    }


@pages.post("/clients/<client_id>/appointments")
@signed_in(*EDITORS)
@page
def schedule_appointment(client_id: str) -> Any:
    """Booked, or the form again with what was typed and why not: an appointment happens
    somewhere, so one with neither a place nor a video link is refused before planning is asked
    (planning refuses it too)."""
    person, form = caller(), request.form
    body = screens.appointment_body(form)
    if not (body.get("location") or body.get("video_link")):
        shown, status = refused(forms.APPOINTMENT, form, location=NOWHERE), 422
    else:
        try:
            booked = person.send("planning", "POST", f"/clients/{client_id}/appointments", body)
        except ApiError as error:
            shown, status = refusal(error, forms.APPOINTMENT, form), refused_status(error)
        else:
            flash(f"Appointment booked for {screens.local_time(booked['starts_at'])}.")
            return redirect(url_for("pages.appointment", appointment_id=booked["id"]))
    return (
        "appointment_form.html",
        {
            "client": person.get("intake", f"/clients/{client_id}"),
            "form": form,
            "refusal": shown,
            "now": screens.datetime_field(datetime.now(UTC)),
        },
        status,
    )


@pages.get("/appointments/<appointment_id>")
@signed_in(*CASEWORK)
@page
def appointment(appointment_id: str) -> Any:
    return "appointment.html", appointment_values(caller(), appointment_id)


def appointment_values(person: Caller, appointment_id: str, **shown: Any) -> dict[str, Any]:
    """What the appointment page shows; ``shown`` adds a refused form's refusal."""
    found = person.get("planning", f"/appointments/{appointment_id}")
    client, open_record = client_or_reference(
        attempt(lambda: person.get("intake", f"/clients/{found['client_id']}")),
        found["client_id"],
        found["client_reference"],
    )
    can_write = open_record and bool(roles() & set(EDITORS))
    now = datetime.now(UTC)
    return {
        "appointment": found,
        "client": client,
        "moves": offered_moves(found, now) if can_write else [],
        "modes": screens.CONTACT_MODES,
        "dap": screens.DAP_SECTIONS,
        "now": screens.datetime_field(now),
        "refusal": None,
        **shown,
    }


def started(found: dict[str, Any], now: datetime) -> bool:
    """The appointment's start has passed (an unreadable start counts as not yet)."""
    start = screens.parse_moment(found.get("starts_at"))
    return start is not None and start.tzinfo is not None and start <= now


def offered_moves(found: dict[str, Any], now: datetime) -> list[str]:
    """The moves planning allows, in the page's order; whether it was attended or missed is
    only known once it has begun, so those two wait for its start."""
    allowed = found.get("allowed_transitions") or []
    return [
        move
        for move in APPOINTMENT_MOVES
        if move in allowed and (move not in AFTER_START or started(found, now))
    ]


def _appointment_move(appointment_id: str, form: Form, move: Callable[[Caller], Any]) -> Any:
    """Do the move, or show the appointment again with the refusal beside the form's fields
    and everything typed in them kept."""
    person = caller()
    try:
        return move(person)
    except ApiError as error:
        shown = refusal(error, form, request.form)
        values = appointment_values(person, appointment_id, refusal=shown)
        return "appointment.html", values, refused_status(error)


@pages.post("/appointments/<appointment_id>/attend")
@signed_in(*EDITORS)
@page
def attend_appointment(appointment_id: str) -> Any:
    """Attended: planning records the contact in the same step; the person lands on it."""
    body: dict[str, Any] = {
        "contact_type": request.form.get("contact_type") or "face_to_face",
        "sign": request.form.get("sign") == "yes",
    }
    if note := screens.dap_note(request.form):
        body["note"] = note

    def move(person: Caller) -> Any:
        done = person.send("planning", "POST", f"/appointments/{appointment_id}/attend", body)
        flash("Appointment attended: its contact is recorded below.")
        return redirect(url_for("pages.contact", contact_id=done["contact"]["id"]))

    return _appointment_move(appointment_id, forms.ATTEND, move)


@pages.post("/appointments/<appointment_id>/outcome")
@signed_in(*EDITORS)
@page
def appointment_outcome(appointment_id: str) -> Any:
    """Cancelled, or a no-show (planning then puts a follow-up task on the worklist). A no-show
    is only known once the appointment has begun: one posted before is refused here."""
    status = request.form.get("status", "")
    body = {"status": status, "reason": request.form.get("reason", "").strip() or None}
    form = forms.outcome_form("no_show" if status == "no_show" else "cancelled")

    def move(person: Caller) -> Any:
        if status == "no_show":
            found = person.get("planning", f"/appointments/{appointment_id}")
            if not started(found, datetime.now(UTC)):
                raise ApiError(409, NOT_YET)
        person.send("planning", "POST", f"/appointments/{appointment_id}/outcome", body)
        flash(
            "Recorded as a no-show: a follow-up task is on your worklist."
            if status == "no_show"
            else "Appointment cancelled."
        )
        return redirect(url_for("pages.appointment", appointment_id=appointment_id))

    return _appointment_move(appointment_id, form, move)


@pages.post("/appointments/<appointment_id>/reschedule")
@signed_in(*EDITORS)
@page
def reschedule_appointment(appointment_id: str) -> Any:
    body = {
        "starts_at": screens.agency_moment(request.form.get("starts_at")),
        "reason": request.form.get("reason", "").strip() or None,
    }

    def move(person: Caller) -> Any:
        moved = person.send("planning", "POST", f"/appointments/{appointment_id}/reschedule", body)
        flash(f"Rescheduled to {screens.local_time(moved['starts_at'])}.")
        return redirect(url_for("pages.appointment", appointment_id=moved["id"]))

    return _appointment_move(appointment_id, forms.RESCHEDULE, move)
