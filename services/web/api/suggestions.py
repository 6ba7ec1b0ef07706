"""Deciding a plan's suggested changes at its review: take one up (planning writes it into the
new version as a proposed goal) or dismiss it with the reason. Planning decides every rule; a
refused reason comes back beside its field."""

from __future__ import annotations

from typing import Any

from flask import redirect, request, url_for

from services.web.api.common import (
    EDITORS,
    caller,
    flash,
    page,
    pages,
    refused_status,
    signed_in,
)
from services.web.api.plans import plan_values
from services.web.backend import ApiError
from services.web.refusals import Field, Form, refusal
from services.web.screens import label


def _suggestion(plan: dict[str, Any], suggestion_id: str) -> dict[str, Any]:
    return next(s for s in plan["suggested_changes"] if s["id"] == suggestion_id)


@pages.post("/plans/<plan_id>/suggested-changes/<suggestion_id>/take-up")
@signed_in(*EDITORS)
def take_up_suggestion(plan_id: str, suggestion_id: str) -> Any:
    path = f"/plans/{plan_id}/suggested-changes/{suggestion_id}/take-up"
    try:
        taken = _suggestion(caller().send("planning", "POST", path), suggestion_id)
    except ApiError as error:
        flash(error.plain_words, "error")
        return redirect(url_for("pages.plan", plan_id=plan_id, _anchor="suggested-changes"))
    flash(
        f"{label(taken['domain'])} taken up: a proposed goal in this version, "
        "to write with the client."
    )
    return redirect(url_for("pages.plan", plan_id=plan_id, _anchor=f"goal-{taken['goal_id']}"))


@pages.post("/plans/<plan_id>/suggested-changes/<suggestion_id>/dismiss")
@signed_in(*EDITORS)
@page
def dismiss_suggestion(plan_id: str, suggestion_id: str) -> Any:
    """Refused (no reason, too short, decided already), the plan again with the message beside
    the reason and what was typed kept."""
    person = caller()
    reason = request.form.get("reason", "").strip()
    path = f"/plans/{plan_id}/suggested-changes/{suggestion_id}/dismiss"
    try:
        dismissed = _suggestion(
            person.send("planning", "POST", path, {"reason": reason}), suggestion_id
        )
    except ApiError as error:
        shown = refusal(error, dismiss_form(suggestion_id), request.form)
        return "plan.html", plan_values(person, plan_id, refusal=shown), refused_status(error)
    flash(f"{label(dismissed['domain'])} dismissed; the reason is recorded.")
    return redirect(url_for("pages.plan", plan_id=plan_id, _anchor="suggested-changes"))


def dismiss_form(suggestion_id: str) -> Form:
    return Form(
        f"dismiss-{suggestion_id}",
        {"reason": Field("reason", f"dismiss-{suggestion_id}", "the reason to dismiss it")},
    )
