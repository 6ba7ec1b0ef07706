"""Reports: the reporting service's KPIs for the supervisor's teams (or every team, for an
admin) as figures and charts, and the funder report passed on as the document it is."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, abort, request

from services.web import charts, labels
from services.web.api.common import caller, flash, page, pages, signed_in, value_or
from services.web.backend import ApiError
from shared.clock import agency_today

READERS = ("supervisor", "admin")
#: What the reporting service renders the funder report as.
FORMATS = ("pdf", "xlsx", "csv")


def _period() -> tuple[date, date]:
    start, end = charts.default_period(agency_today())
    try:
        start = date.fromisoformat(request.args.get("from") or start.isoformat())
        end = date.fromisoformat(request.args.get("to") or end.isoformat())
    except ValueError:
        flash("Dates are written as YYYY-MM-DD; the last 90 days are shown.", "error")
        start, end = charts.default_period(agency_today())
    return start, end


@pages.get("/reports")
@signed_in(*READERS)
@page
def reports() -> Any:
    start, end = _period()
    programme = (request.args.get("programme") or "").strip() or None
    query = {"from": start.isoformat(), "to": end.isoformat(), "programme": programme}
    person = caller()
    found = person.gather(
        figures=lambda: person.get("reporting", "/kpis", **query),
        managers=lambda: person.items("intake", "/case-managers"),
        partners=lambda: person.items("referrals", "/organizations"),
    )
    figures = found["figures"]
    if isinstance(figures, ApiError):
        if figures.status >= 500:
            raise figures
        flash(figures.plain_words, "error")
        figures = None
    values: dict[str, Any] = {"figures": figures, "query": query}
    if figures:
        # people and partners by name (an id where a directory could not be read)
        managers = labels.people_names(value_or(found["managers"], []))
        partners = labels.organisation_names(value_or(found["partners"], []))
        values["not_yet_available"] = [
            labels.metric(name) for name in figures.get("not_yet_available") or []
        ]
        values["charts"] = {
            "caseload": charts.caseload_bars(figures.get("caseload") or [], managers),
            "rates": charts.share_bars(
                [
                    ("Reviews held on time", figures.get("reviews_on_time")),
                    (
                        "Crisis alerts acknowledged within 15 minutes",
                        figures.get("crisis_alerts_acknowledged_in_15_minutes"),
                    ),
                ]
            ),
            "referrals": charts.referral_bars(figures.get("referrals_by_partner") or {}, partners),
            "outcomes": charts.outcome_bars(figures.get("outcomes") or {}),
            "discharges": charts.count_bars(
                (labels.discharge_reason(code), count)
                for code, count in sorted(
                    ((figures.get("discharges") or {}).get("by_reason") or {}).items()
                )
            ),
        }
    return "reports.html", values


@pages.get("/reports/funder.<kind>")
@signed_in(*READERS)
def funder_report(kind: str) -> Any:
    """The funder report as the reporting service renders it, saved by the browser."""
    if kind not in FORMATS:
        abort(404)
    start, end = _period()
    programme = (request.args.get("programme") or "").strip() or None
    document = caller().download(
        "reporting",
        "/reports/funder",
        **{"from": start.isoformat(), "to": end.isoformat(), "programme": programme},
        format=kind,
    )
    name = f"casehub-funder-report-{start.isoformat()}-{end.isoformat()}.{kind}"
    return Response(
        document.content,
        mimetype=document.headers.get("Content-Type", "application/octet-stream"),
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
