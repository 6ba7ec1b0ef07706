"""The service plan: goals, strategies, progress notes, safety plan, approval and review."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import redirect, request, url_for

from services.web import forms, labels, screens
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
    value_or,
)
from services.web.backend import ApiError, Caller
from services.web.refusals import Form, refusal
from services.web.suggestions import still_to_decide, suggestion_rows


@pages.get("/clients/<client_id>/plan")
@signed_in(*CASEWORK)
def client_plan(client_id: str) -> Any:
    """The client's current plan (the crisis alert and the assessment result link here)."""
    plans = caller().items("planning", "/plans", client_id=client_id)
    current = screens.latest([p for p in plans if p["status"] != "closed"], "created_at")
    if current is None:
        flash(
            "No open plan yet: planning drafts one when the assessment reaches it (a few seconds)."
        )
        return redirect(url_for("pages.client_record", client_id=client_id))
    return redirect(
        url_for("pages.plan", plan_id=current["id"], _anchor=request.args.get("section") or None)
    )


@pages.get("/plans/<plan_id>")
@signed_in(*CASEWORK)
@page
def plan(plan_id: str) -> Any:
    return "plan.html", plan_values(caller(), plan_id)


def plan_values(person: Caller, plan_id: str, **shown: Any) -> dict[str, Any]:
    """What the plan page shows; ``shown`` adds a refused form's ``refusal`` (its messages and
    what was typed)."""
    results = person.gather(
        plan=lambda: person.get("planning", f"/plans/{plan_id}"),
        versions=lambda: person.items("planning", f"/plans/{plan_id}/versions"),
    )
    if isinstance(results["plan"], ApiError):
        raise results["plan"]
    current = results["plan"]
    comparison = None
    older, newer = request.args.get("older", type=int), request.args.get("newer", type=int)
    if older and newer:
        comparison = value_or(
            attempt(
                lambda: person.get(
                    "planning", f"/plans/{plan_id}/compare", older=older, newer=newer
                )
            )
        )
    goals = current["working_version"]["content"]["goals"]
    suggested = current.get("suggested_changes") or []
    calls: dict[str, Callable[[], Any]] = {
        f"notes-{goal['id']}": (
            lambda gid=goal["id"]: person.items(
                "planning", f"/plans/{plan_id}/goals/{gid}/progress-notes"
            )
        )
        for goal in goals
    }
    if suggested:
        calls["assessments"] = lambda: person.items(
            "intake", f"/clients/{current['client_id']}/assessments"
        )
    fetched = person.backend.gather(calls) if calls else {}
    notes = {goal["id"]: value_or(fetched[f"notes-{goal['id']}"], []) for goal in goals}
    rows = suggestion_rows(suggested, value_or(fetched.get("assessments"), []))
    versions = value_or(results["versions"], [])
    return {
        "plan": current,
        "goals": goals,
        "safety_plan": current["working_version"]["content"].get("safety_plan") or {},
        "sections": screens.SAFETY_PLAN_SECTIONS,
        "versions": versions,
        "comparison": comparison,
        "changes": labels.comparison_lines(comparison, versions) if comparison else None,
        "compared": (older, newer),
        "notes": notes,
        "domains": screens.LIFE_DOMAINS,
        "responsible": screens.RESPONSIBLE,
        "editable": current["status"] in ("draft", "under_review") and bool(roles() & set(EDITORS)),
        "open_suggestions": [row for row in rows if row["status"] == "open"],
        "decided_suggestions": [row for row in rows if row["status"] != "open"],
        "refusal": None,
        **shown,
    }


def _plan_change(
    plan_id: str, method: str, path: str, body: Any, done: str, anchor: str, form: Form
) -> Any:
    """Make the change and go back to its part of the plan; refused, the plan again with the
    refusal beside the form's fields and everything typed in them kept."""
    person = caller()
    try:
        person.send("planning", method, f"/plans/{plan_id}{path}", body)
    except ApiError as error:
        shown = refusal(error, form, request.form)
        return "plan.html", plan_values(person, plan_id, refusal=shown), refused_status(error)
    flash(done)
    return redirect(url_for("pages.plan", plan_id=plan_id, _anchor=anchor))


@pages.post("/plans/<plan_id>/goals")
@signed_in(*EDITORS)
@page
def add_goal(plan_id: str) -> Any:
    form = request.form
    body = {
        "domain": form.get("domain", ""),
        "in_own_words": form.get("in_own_words", "").strip(),
        "measurable_target": form.get("measurable_target", "").strip(),
        "target_date": form.get("target_date") or None,
    }
    return _plan_change(plan_id, "POST", "/goals", body, "Goal added.", "goals", forms.NEW_GOAL)


@pages.post("/plans/<plan_id>/goals/<goal_id>")
@signed_in(*EDITORS)
@page
def update_goal(plan_id: str, goal_id: str) -> Any:
    form = request.form
    body = {
        key: value.strip()
        for key in ("in_own_words", "measurable_target", "status")
        if (value := form.get(key, ""))
    }
    if form.get("target_date"):
        body["target_date"] = form["target_date"]
    return _plan_change(
        plan_id,
        "PATCH",
        f"/goals/{goal_id}",
        body,
        "Goal saved.",
        f"goal-{goal_id}",
        forms.goal_form(goal_id),
    )


@pages.post("/plans/<plan_id>/goals/<goal_id>/strategies")
@signed_in(*EDITORS)
@page
def add_strategy(plan_id: str, goal_id: str) -> Any:
    form = request.form
    body: dict[str, Any] = {
        "description": form.get("description", "").strip(),
        "responsible": form.get("responsible", ""),
        "due_by": form.get("due_by") or None,
    }
    if form.get("partner_service_id"):
        body["type"] = "referral"
        body["partner_service_id"] = form["partner_service_id"].strip()
    return _plan_change(
        plan_id,
        "POST",
        f"/goals/{goal_id}/strategies",
        body,
        "Strategy added.",
        f"goal-{goal_id}",
        forms.strategy_form(goal_id),
    )


@pages.post("/plans/<plan_id>/goals/<goal_id>/progress-notes")
@signed_in(*EDITORS)
@page
def add_progress_note(plan_id: str, goal_id: str) -> Any:
    form = request.form
    body = {
        "note": form.get("note", "").strip(),
        "attainment": int(form.get("attainment") or 0)
        if (form.get("attainment") or "0").lstrip("-").isdigit()
        else form.get("attainment"),
        "achieved": form.get("achieved") == "yes",
    }
    return _plan_change(
        plan_id,
        "POST",
        f"/goals/{goal_id}/progress-notes",
        body,
        "Progress note added.",
        f"goal-{goal_id}",
        forms.progress_form(goal_id),
    )


@pages.post("/plans/<plan_id>/safety-plan")
@signed_in(*EDITORS)
@page
def save_safety_plan(plan_id: str) -> Any:
    return _plan_change(
        plan_id,
        "PUT",
        "/safety-plan",
        screens.safety_plan_body(request.form),
        "Safety plan saved.",
        "safety-plan",
        forms.SAFETY_PLAN,
    )


@pages.post("/plans/<plan_id>/approve")
@signed_in(*EDITORS)
@page
def approve_plan(plan_id: str) -> Any:
    """Approved, or the plan again with why not and the agreement as typed; a review refused
    for suggested changes still open names each one and links to them."""
    person, form = caller(), request.form
    body = {
        "client_agreed": form.get("client_agreed") == "yes",
        "method": form.get("method", ""),
        "present": screens.lines(form.get("present")),
        "notes": form.get("notes") or None,
    }
    try:
        person.send("planning", "POST", f"/plans/{plan_id}/approve", body)
    except ApiError as error:
        shown = refusal(error, forms.APPROVAL, form)
        if waiting := still_to_decide(error):
            shown.general = [(waiting, "#suggested-changes")]
        return "plan.html", plan_values(person, plan_id, refusal=shown), refused_status(error)
    flash("Plan approved with the client's agreement.")
    return redirect(url_for("pages.plan", plan_id=plan_id, _anchor="approval"))


@pages.post("/plans/<plan_id>/start-review")
@signed_in(*EDITORS)
def start_review(plan_id: str) -> Any:
    """A button alone: a refusal (already under review) is said on the plan."""
    try:
        caller().send("planning", "POST", f"/plans/{plan_id}/start-review")
        flash("Review started: changes go into a new version.")
    except ApiError as error:
        flash(error.plain_words, "error")
    anchor = {"suggested-changes": "suggested-changes", "safety-plan": "safety-plan"}.get(
        request.form.get("then", ""), "top"
    )
    return redirect(url_for("pages.plan", plan_id=plan_id, _anchor=anchor))
