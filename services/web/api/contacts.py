"""Contacts on the client record and their signed DAP notes: recorded, corrected while a draft,
signed, then changed only by addenda. Planning decides every rule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import redirect, request, url_for

from services.web import forms, screens
from services.web.api.common import (
    CASEWORK,
    EDITORS,
    caller,
    flash,
    page,
    pages,
    refused_status,
    roles,
    signed_in,
    value_or,
)
from services.web.api.discharged import client_or_reference
from services.web.backend import ApiError, Caller
from services.web.refusals import Form, refusal


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


@pages.get("/clients/<client_id>/contacts/new")
@signed_in(*EDITORS)
@page
def new_contact(client_id: str) -> Any:
    return "contact_form.html", {**_contact_form_values(caller(), client_id), "form": None}


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
                "refusal": refusal(error, forms.CONTACT, request.form),
            },
            refused_status(error),
        )
    flash("Contact recorded and signed." if contact["signed"] else "Contact recorded (draft).")
    return redirect(url_for("pages.contact", contact_id=contact["id"]))


@pages.get("/contacts/<contact_id>")
@signed_in(*CASEWORK)
@page
def contact(contact_id: str) -> Any:
    return "contact.html", contact_values(caller(), contact_id)


def contact_values(person: Caller, contact_id: str, **shown: Any) -> dict[str, Any]:
    """What the contact page shows; ``shown`` adds a refused form's refusal."""
    found = person.get("planning", f"/contacts/{contact_id}")
    results = person.gather(
        client=lambda: person.get("intake", f"/clients/{found['client_id']}"),
        plan=lambda: _active_plan(person, found["client_id"]),
    )
    client, open_record = client_or_reference(
        results["client"], found["client_id"], found["client_reference"]
    )
    goals = screens.goal_names(value_or(results["plan"]))
    return {
        "contact": found,
        "client": client,
        "goals_worked_on": [goals.get(goal_id, goal_id) for goal_id in found["goal_ids"] or []],
        "dap": screens.DAP_SECTIONS,
        "can_write": open_record and bool(roles() & set(EDITORS)),
        "refusal": None,
        **shown,
    }


def _contact_change(contact_id: str, form: Form, send: Callable[[Caller], Any], done: str) -> Any:
    """Make the change and show the contact; refused, the contact again with the refusal beside
    the form's fields and what was typed kept."""
    person = caller()
    try:
        send(person)
    except ApiError as error:
        shown = refusal(error, form, request.form)
        return (
            "contact.html",
            contact_values(person, contact_id, refusal=shown),
            refused_status(error),
        )
    flash(done)
    return redirect(url_for("pages.contact", contact_id=contact_id))


@pages.post("/contacts/<contact_id>")
@signed_in(*EDITORS)
@page
def update_contact(contact_id: str) -> Any:
    """Change a draft note (a signed one is locked: the API answers 409 and says so)."""
    changes: dict[str, Any] = {"note": screens.dap_note(request.form)}
    if request.form.get("purpose", "").strip():
        changes["purpose"] = request.form["purpose"].strip()
    return _contact_change(
        contact_id,
        forms.DRAFT_NOTE,
        lambda person: person.send("planning", "PATCH", f"/contacts/{contact_id}", changes),
        "Draft note saved.",
    )


@pages.post("/contacts/<contact_id>/sign")
@signed_in(*EDITORS)
@page
def sign_contact(contact_id: str) -> Any:
    """Signing needs every DAP section: refused, the draft again saying which is missing."""
    return _contact_change(
        contact_id,
        forms.SIGN_NOTE,
        lambda person: person.send("planning", "POST", f"/contacts/{contact_id}/sign"),
        "Note signed: it is now locked; corrections are addenda.",
    )


@pages.post("/contacts/<contact_id>/addenda")
@signed_in(*EDITORS)
@page
def add_addendum(contact_id: str) -> Any:
    text = request.form.get("text", "").strip()
    return _contact_change(
        contact_id,
        forms.ADDENDUM,
        lambda person: person.send(
            "planning", "POST", f"/contacts/{contact_id}/addenda", {"text": text}
        ),
        "Addendum added.",
    )
