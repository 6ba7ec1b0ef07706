"""Casework on the client record and the case manager's day: contacts and their signed DAP
notes, appointments and their moves, the worklist (mine and my teams'), the calendar feed.
Planning decides every rule; these pages show only the moves its answers allow."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import g, redirect, request, url_for

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
    value_or,
)
from services.web.backend import ApiError, Caller
from shared.clock import agency_today

#: An appointment's moves as buttons: the API's ``allowed_transitions`` decides which show.
APPOINTMENT_MOVES = ("attended", "cancelled", "no_show", "rescheduled")


def _active_plan(person: Caller, client_id: str) -> dict[str, Any] | None:
    """The client's open plan with its goals (the goals a contact can have worked on)."""
    plans = person.items("planning", "/plans", client_id=client_id)
    current = screens.latest([p for p in plans if p["status"] != "closed"], "created_at")
    return person.get("planning", f"/plans/{current['id']}") if current else None


def _contact_form_values(person: Caller, client_id: str) -> dict[str, Any]:
    results = person.gather(
        client=lambda: person.get("intake", f"/clients/{client_id}"),
        plan=lambda: _active_plan(person, client_id),
    )
    if isinstance(results["client"], ApiError):
        raise results["client"]
    return {
        "client": results["client"],
        "goals": screens.goal_names(value_or(results["plan"])),
        "modes": screens.CONTACT_MODES,
        "ticked": screens.PARTICIPANTS_TICKED,
        "dap": screens.DAP_SECTIONS,
        "now": screens.datetime_field(datetime.now(UTC)),
    }


# --- contacts -------------------------------------------------------------------------------------


@pages.get("/clients/<client_id>/contacts/new")
@signed_in(*EDITORS)
@page
def new_contact(client_id: str) -> Any:
    return "contact_form.html", {
        **_contact_form_values(caller(), client_id),
        "form": None,
        "error": None,
    }


@pages.post("/clients/<client_id>/contacts")
@signed_in(*EDITORS)
@page
def record_contact(client_id: str) -> Any:
    person = caller()
    try:
        contact = person.send(
            "planning",
            "POST",
            f"/clients/{client_id}/contacts",
            screens.contact_body(request.form),
        )
    except ApiError as error:
        return (
            "contact_form.html",
            {
                **_contact_form_values(person, client_id),
                "form": request.form,
                "error": error.plain_words,
            },
            422 if error.status < 500 else 503,
        )
    flash("Contact recorded and signed." if contact["signed"] else "Contact recorded (draft).")
    return redirect(url_for("pages.contact", contact_id=contact["id"]))


@pages.get("/contacts/<contact_id>")
@signed_in(*CASEWORK)
@page
def contact(contact_id: str) -> Any:
    person = caller()
    found = person.get("planning", f"/contacts/{contact_id}")
    results = person.gather(
        client=lambda: person.get("intake", f"/clients/{found['client_id']}"),
        plan=lambda: _active_plan(person, found["client_id"]),
    )
    if isinstance(results["client"], ApiError):
        raise results["client"]
    goals = screens.goal_names(value_or(results["plan"]))
    return "contact.html", {
        "contact": found,
        "client": results["client"],
        "goals_worked_on": [goals.get(goal_id, goal_id) for goal_id in found["goal_ids"] or []],
        "dap": screens.DAP_SECTIONS,
        "can_write": bool(roles() & set(EDITORS)),
    }


def _back_to_contact(contact_id: str) -> Any:
    return redirect(url_for("pages.contact", contact_id=contact_id))


@pages.post("/contacts/<contact_id>")
@signed_in(*EDITORS)
def update_contact(contact_id: str) -> Any:
    """Change a draft note (a signed one is locked: the API answers 409 and says so)."""
    changes: dict[str, Any] = {"note": screens.dap_note(request.form)}
    if request.form.get("purpose", "").strip():
        changes["purpose"] = request.form["purpose"].strip()
    try:
        caller().send("planning", "PATCH", f"/contacts/{contact_id}", changes)
        flash("Draft note saved.")
    except ApiError as error:
        flash(error.plain_words, "error")
    return _back_to_contact(contact_id)


@pages.post("/contacts/<contact_id>/sign")
@signed_in(*EDITORS)
def sign_contact(contact_id: str) -> Any:
    try:
        caller().send("planning", "POST", f"/contacts/{contact_id}/sign")
        flash("Note signed: it is now locked; corrections are addenda.")
    except ApiError as error:
        flash(error.plain_words, "error")
    return _back_to_contact(contact_id)


@pages.post("/contacts/<contact_id>/addenda")
@signed_in(*EDITORS)
def add_addendum(contact_id: str) -> Any:
    try:
        caller().send(
            "planning",
            "POST",
            f"/contacts/{contact_id}/addenda",
            {"text": request.form.get("text", "").strip()},
        )
        flash("Addendum added.")
    except ApiError as error:
        flash(error.plain_words, "error")
    return _back_to_contact(contact_id)


# --- appointments ---------------------------------------------------------------------------------


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


# --- the worklist and the calendar feed -----------------------------------------------------------


@pages.get("/worklist")
@signed_in(*EDITORS)
@page
def worklist() -> Any:
    """My day: open tasks by due date then priority, each done or dismissed with a reason."""
    tasks = caller().items("planning", "/me/worklist")
    today = agency_today()
    return "worklist.html", {
        "groups": screens.worklist_groups(tasks, today),
        "total": len(tasks),
        "today": today,
        "calendar_url": g.web_session.pop("calendar_url"),
    }


@pages.post("/tasks/<task_id>/close")
@signed_in(*EDITORS)
def close_task(task_id: str) -> Any:
    status = request.form.get("status", "")
    body = {"status": status, "reason": request.form.get("reason", "").strip() or None}
    try:
        caller().send("planning", "POST", f"/tasks/{task_id}/close", body)
        flash("Task done." if status == "done" else "Task dismissed; the reason is recorded.")
    except ApiError as error:
        flash(error.plain_words, "error")
    return redirect(url_for("pages.worklist"))


@pages.post("/calendar-feed")
@signed_in(*EDITORS)
def issue_calendar_feed() -> Any:
    """A new secret calendar address (the old one stops working); shown once, never in a URL
    of this site."""
    try:
        feed = caller().send("planning", "POST", "/me/calendar-feed")
        g.web_session.set("calendar_url", feed["url"])
        flash("New calendar address made: any earlier one no longer works.")
    except ApiError as error:
        flash(error.plain_words, "error")
    return redirect(url_for("pages.worklist", _anchor="calendar"))


@pages.post("/calendar-feed/revoke")
@signed_in(*EDITORS)
def revoke_calendar_feed() -> Any:
    try:
        caller().send("planning", "DELETE", "/me/calendar-feed")
        flash("Calendar address revoked: your calendar app will stop showing appointments.")
    except ApiError as error:
        flash(error.plain_words, "error")
    return redirect(url_for("pages.worklist", _anchor="calendar"))


@pages.get("/team/worklist")
@signed_in("supervisor", "admin")
@page
def team_worklist() -> Any:
    """What is late in the teams a supervisor leads (all open tasks when asked)."""
    person = caller()
    managers = person.items("intake", "/case-managers")
    teams = screens.supervised_teams(
        managers, g.web_session.data["sub"], every_team="admin" in roles()
    )
    late_only = request.args.get("all") != "1"
    chosen = [t for t in teams if not request.args.get("team") or t == request.args["team"]]
    results = person.backend.gather(
        {
            team: (
                lambda team=team: person.items(
                    "planning",
                    f"/teams/{team}/worklist",
                    late_only="true" if late_only else "false",
                )
            )
            for team in chosen
        }
    )
    names = {m["id"]: m.get("display_name") or m["id"] for m in managers}
    return "team_worklist.html", {
        "teams": teams,
        "worklists": [
            {
                "team": team,
                "tasks": value_or(results[team], []),
                "error": results[team].plain_words if isinstance(results[team], ApiError) else None,
            }
            for team in chosen
        ],
        "names": names,
        "late_only": late_only,
        "chosen": request.args.get("team", ""),
    }
