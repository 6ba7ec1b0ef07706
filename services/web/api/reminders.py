"""The client's consent to appointment reminders, on the client record: recorded with the one
channel and address the client chose, or withdrawn the moment they ask. Intake checks the
address against the channel; its refusal is shown beside the field it is about."""

from __future__ import annotations

from typing import Any

from flask import redirect, request, url_for

from services.web import forms
from services.web.api.clients import record_values
from services.web.api.common import STAFF, caller, flash, page, pages, signed_in
from services.web.backend import ApiError
from services.web.refusals import refusal


def _back(client_id: str) -> Any:
    return redirect(url_for("pages.client_record", client_id=client_id, _anchor="reminders"))


@pages.post("/clients/<client_id>/reminder-consent")
@signed_in(*STAFF)
@page
def consent_to_reminders(client_id: str) -> Any:
    person = caller()
    body = {
        "channel": request.form.get("channel", ""),
        "address": request.form.get("address", "").strip(),
    }
    try:
        person.send("intake", "PUT", f"/clients/{client_id}/reminder-consent", body)
    except ApiError as error:
        if error.status >= 500 or error.status in (401, 403, 404):
            flash(error.plain_words, "error")
            return _back(client_id)
        shown = refusal(error, forms.REMINDERS, request.form)
        return "client.html", record_values(person, client_id, refusal=shown), 422
    way = "by e-mail" if body["channel"] == "email" else "by text message"
    flash(f"Consent to appointment reminders recorded: {way}.")
    return _back(client_id)


@pages.post("/clients/<client_id>/reminder-consent/withdraw")
@signed_in(*STAFF)
def withdraw_reminders(client_id: str) -> Any:
    try:
        caller().send("intake", "DELETE", f"/clients/{client_id}/reminder-consent")
        flash("Consent to reminders withdrawn: no further reminder reaches the client.")
    except ApiError as error:
        flash(error.plain_words, "error")
    return _back(client_id)
