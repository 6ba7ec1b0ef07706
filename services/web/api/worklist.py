"""The case manager's day: the worklist (mine and my teams'), closing tasks, the calendar feed."""

from __future__ import annotations

from typing import Any

from flask import g, redirect, request, url_for

from services.web import screens
from services.web.api.common import (
    EDITORS,
    caller,
    flash,
    page,
    pages,
    roles,
    signed_in,
    value_or,
)
from services.web.backend import ApiError
from shared.clock import agency_today


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
