"""The case manager's caseload, the home page for each role and the supervisor's team."""

from __future__ import annotations

from typing import Any

from flask import g, redirect, request, url_for

from services.web import screens
from services.web.api.common import (
    CASEWORK,
    STAFF,
    caller,
    flash,
    home_for,
    open_urgent_alerts,
    page,
    pages,
    roles,
    signed_in,
    value_or,
)
from services.web.backend import ApiError
from shared.clock import agency_today


@pages.get("/")
@signed_in()
def home() -> Any:
    return redirect(home_for(roles()))


@pages.route("/caseload", methods=["GET", "POST"])
@signed_in(*CASEWORK)
@page
def caseload() -> Any:
    """My caseload (a supervisor or admin names the case manager with ?case_manager=). The
    search is posted, never put in the URL: a name or birth date is client data."""
    me = g.web_session.data["sub"]
    manager = request.args.get("case_manager") or me
    person = caller()
    results = person.gather(
        entries=lambda: person.items("intake", f"/case-managers/{manager}/caseload"),
        overdue=lambda: person.items("planning", "/reviews/overdue"),
    )
    if isinstance(results["entries"], ApiError):
        raise results["entries"]
    overdue = value_or(results["overdue"], [])
    rows = screens.caseload_rows(results["entries"], agency_today(), overdue_reviews=overdue)
    chosen = screens.filter_and_sort(
        rows,
        query=request.form.get("q", ""),
        risk=request.values.get("risk", ""),
        overdue_only=request.values.get("overdue") == "1",
        sort=request.values.get("sort", "risk"),
    )
    template = (
        "partials/caseload_rows.html" if request.headers.get("HX-Request") else "caseload.html"
    )
    return template, {
        "rows": chosen,
        "total": len(rows),
        "manager": manager,
        "mine": manager == me,
        "args": request.values,
        "sorts": screens.SORTS,
        "today": agency_today(),
    }


@pages.get("/clients")
@signed_in(*STAFF)
def find_client() -> Any:
    """Search by exact reference (what alerts and emails name), then open the record."""
    reference = request.args.get("reference", "").strip().upper()  # c-1001 is C-1001
    if reference:
        found = caller().get("intake", "/clients", reference=reference, limit=1)["items"]
        if found:
            return redirect(url_for("pages.client_record", client_id=found[0]["id"]))
        flash(f"No client with reference {reference} that you may see.", "error")
    return redirect(home_for(roles()))


@pages.get("/team")
@signed_in("supervisor", "admin")
@page
def team() -> Any:
    person = caller()
    results = person.gather(
        managers=lambda: person.items("intake", "/case-managers"),
        overdue=lambda: person.items("planning", "/reviews/overdue"),
        alerts=lambda: open_urgent_alerts(person),
        duplicates=lambda: person.items("intake", "/duplicate-reviews", status="open"),
    )
    if isinstance(results["managers"], ApiError):
        raise results["managers"]
    managers = screens.team_load(results["managers"])
    return "team.html", {
        "managers": managers,
        "open_flags": sum(m["open_risk_flags"] for m in managers),
        "overdue": value_or(results["overdue"], []),
        "alerts": screens.urgent_alerts(value_or(results["alerts"], [])),
        "duplicates": value_or(results["duplicates"], []),
    }
