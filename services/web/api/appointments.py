"""Appointments on the client record and their moves (attended, cancelled, no-show,
rescheduled): planning's answers decide which moves show."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import redirect, request, url_for

from services.web import screens
from services.web.api.common import (
    CASEWORK,
    EDITORS,
    caller,
    flash,
    page,
    pages,
    roles,
    signed_in,
)
from services.web.backend import ApiError, Caller

#: An appointment's moves as buttons: the API's ``allowed_transitions`` decides which show.
APPOINTMENT_MOVES = ("attended", "cancelled", "no_show", "rescheduled")


@pages.get("/clients/<client_id>/appointments/new")
@signed_in(*EDITORS)
@page
def new_appointment(client_id: str) -> Any:
    return "appointment_form.html", {
        "client": caller().get("intake", f"/clients/{client_id}"),
        "form": None,
        "error": None,
        "now": screens.datetime_field(datetime.now(UTC)),
    }


@pages.post("/clients/<client_id>/appointments")
@signed_in(*EDITORS)
@page
def schedule_appointment(client_id: str) -> Any:
    person = caller()
    try:
        booked = person.send(
            "planning",
            "POST",
            f"/clients/{client_id}/appointments",
            screens.appointment_body(request.form),
        )
    except ApiError as error:
        return (
            "appointment_form.html",
            {
                "client": person.get("intake", f"/clients/{client_id}"),
                "form": request.form,
                "error": error.plain_words,
                "now": screens.datetime_field(datetime.now(UTC)),
            },
            422 if error.status < 500 else 503,
        )
    flash(f"Appointment booked for {screens.local_time(booked['starts_at'])}.")
    return redirect(url_for("pages.appointment", appointment_id=booked["id"]))


@pages.get("/appointments/<appointment_id>")
@signed_in(*CASEWORK)
@page
def appointment(appointment_id: str) -> Any:
    person = caller()
    found = person.get("planning", f"/appointments/{appointment_id}")
    client = person.get("intake", f"/clients/{found['client_id']}")
    can_write = bool(roles() & set(EDITORS))
    return "appointment.html", {
        "appointment": found,
        "client": client,
        "moves": [m for m in APPOINTMENT_MOVES if m in found["allowed_transitions"]]
        if can_write
        else [],
        "modes": screens.CONTACT_MODES,
        "dap": screens.DAP_SECTIONS,
        "now": screens.datetime_field(datetime.now(UTC)),
    }


def _appointment_move(appointment_id: str, move: Callable[[Caller], Any]) -> Any:
    try:
        return move(caller())
    except ApiError as error:
        flash(error.plain_words, "error")
        return redirect(url_for("pages.appointment", appointment_id=appointment_id))


@pages.post("/appointments/<appointment_id>/attend")
@signed_in(*EDITORS)
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

    return _appointment_move(appointment_id, move)


@pages.post("/appointments/<appointment_id>/outcome")
@signed_in(*EDITORS)
def appointment_outcome(appointment_id: str) -> Any:
    """Cancelled, or a no-show (planning then puts a follow-up task on the worklist)."""
    status = request.form.get("status", "")
    body = {"status": status, "reason": request.form.get("reason", "").strip() or None}

    def move(person: Caller) -> Any:
        person.send("planning", "POST", f"/appointments/{appointment_id}/outcome", body)
        flash(
            "Recorded as a no-show: a follow-up task is on your worklist."
            if status == "no_show"
            else "Appointment cancelled."
        )
        return redirect(url_for("pages.appointment", appointment_id=appointment_id))

    return _appointment_move(appointment_id, move)


@pages.post("/appointments/<appointment_id>/reschedule")
@signed_in(*EDITORS)
def reschedule_appointment(appointment_id: str) -> Any:
    body = {
        "starts_at": screens.agency_moment(request.form.get("starts_at")),
        "reason": request.form.get("reason", "").strip() or None,
    }

    def move(person: Caller) -> Any:
        moved = person.send("planning", "POST", f"/appointments/{appointment_id}/reschedule", body)
        flash(f"Rescheduled to {screens.local_time(moved['starts_at'])}.")
        return redirect(url_for("pages.appointment", appointment_id=moved["id"]))

    return _appointment_move(appointment_id, move)
