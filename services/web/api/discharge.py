"""Closing a case: the discharge summary (planning) written with the discharge itself (intake),
then the summary as the former case manager reads it through the continuity period."""

from __future__ import annotations

from typing import Any

from flask import redirect, request, url_for

from services.web import forms, screens
from services.web.api.common import (
    EDITORS,
    caller,
    flash,
    page,
    pages,
    refused_status,
    signed_in,
)
from services.web.backend import ApiError, Caller
from services.web.refusals import refusal


def _form_values(person: Caller, client_id: str) -> dict[str, Any]:
    """The client and the summary so far. Once discharged, the summary alone: the former case
    manager no longer carries the client (intake refuses), yet completes the summary."""
    results = person.gather(
        client=lambda: person.get("intake", f"/clients/{client_id}"),
        summary=lambda: person.get_or_none("planning", f"/clients/{client_id}/discharge-summary"),
    )
    summary = results["summary"]
    if isinstance(summary, ApiError):
        raise summary
    discharged = bool(summary and summary.get("discharged_at"))
    client = results["client"]
    if isinstance(client, ApiError):
        if not discharged:
            raise client
        client = None
    return {
        "client_id": client_id,
        "client": client,
        "reference": client["reference"] if client else summary["client_reference"],
        "summary": summary,
        "discharged": discharged or bool(client and client["status"] == "discharged"),
        "reasons": screens.DISCHARGE_REASONS,
    }


@pages.get("/clients/<client_id>/discharge")
@signed_in(*EDITORS)
@page
def discharge_form(client_id: str) -> Any:
    """The summary's form (what is already written filled in), with the reason for discharge
    while the case is open; once discharged, the summary alone, to complete it."""
    return "discharge_form.html", {**_form_values(caller(), client_id), "form": None}


@pages.post("/clients/<client_id>/discharge")
@signed_in(*EDITORS)
@page
def discharge(client_id: str) -> Any:
    """The summary first, so a refused discharge never leaves a closed case without one; then,
    unless the case is already closed, the discharge. Either refusal comes back on the form
    with what was typed."""
    person = caller()
    closing = request.form.get("reason_code") is not None
    try:
        person.send(
            "planning",
            "PUT",
            f"/clients/{client_id}/discharge-summary",
            screens.discharge_summary_body(request.form),
        )
        if closing:
            person.send(
                "intake",
                "POST",
                f"/clients/{client_id}/discharge",
                {"reason_code": request.form.get("reason_code", "")},
            )
    except ApiError as error:
        return (
            "discharge_form.html",
            {
                **_form_values(person, client_id),
                "form": request.form,
                "refusal": refusal(error, forms.DISCHARGE, request.form),
            },
            refused_status(error),
        )
    flash(
        "Discharged: the case is closed and its summary kept."
        if closing
        else "Discharge summary saved.",
        "info",
    )
    return redirect(url_for("pages.discharge_summary", client_id=client_id))


@pages.get("/clients/<client_id>/discharge-summary")
@signed_in(*EDITORS, "admin")
@page
def discharge_summary(client_id: str) -> Any:
    """The latest discharge summary; the former case manager and supervisor read it (and
    complete it) through the continuity period after the discharge."""
    summary = caller().get("planning", f"/clients/{client_id}/discharge-summary")
    return "discharge_summary.html", {
        "summary": summary,
        "reasons": dict(screens.DISCHARGE_REASONS),
    }
