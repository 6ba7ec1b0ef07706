"""HTTP in and out for reporting: the KPIs and the funder report, scoped to the caller."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Response, current_app

from services.reporting import domain
from services.reporting.models import AUDIT
from services.reporting.operations import report
from services.reporting.operations.exports import FORMATS
from services.reporting.schemas import (
    FunderReportArgs,
    KpiArgs,
    KpisOut,
)
from shared.clock import agency_today
from shared.web import current_principal, require_roles
from shared.web.audit import audit_blueprint
from shared.web.query import Blueprint
from shared.web.service_app import current_runtime

#: Supervisors see their teams; admins and the reporting role every team.
READERS = ("supervisor", "admin", "reporting")
CLOCK = "reporting_clock"

figures = Blueprint("figures", __name__, url_prefix="", description="KPIs and funder reports")
BLUEPRINTS = [figures, audit_blueprint(AUDIT)]


def _caller() -> report.Caller:
    principal = current_principal()
    return report.Caller(principal.sub, frozenset(principal.roles))


def _query(args: dict[str, Any]) -> dict[str, Any]:
    now: Callable[[], datetime] = current_app.extensions[CLOCK]
    return {
        "programme": args.get("programme"),
        "team": args.get("team"),
        "period": domain.Period(args["from_"], args["to"]),
        "today": agency_today(now()),
    }


@figures.route("/kpis", methods=["GET"])
@require_roles(*READERS)
@figures.arguments(KpiArgs, location="query")
@figures.response(200, KpisOut)
def kpis(args: dict[str, Any]) -> Any:
    """Programme, team and period figures; counts of fewer than 5 people show as "< 5"."""
    with current_runtime().database.read_session() as session:
        return report.kpis_for(session, _caller(), **_query(args))


@figures.route("/reports/funder", methods=["GET"])
@require_roles(*READERS)
@figures.arguments(FunderReportArgs, location="query")
@figures.response(
    200,
    content_type="text/csv",
    description="The funder report as CSV, XLSX or PDF (`format`).",
)
def funder_report(args: dict[str, Any]) -> Any:
    """A period and programme as a document: the figures, charts and a methods note."""
    format_ = args["format"]
    with current_runtime().database.read_session() as session:
        document = report.funder_report_for(session, _caller(), format_=format_, **_query(args))
    programme = re.sub(r"[^A-Za-z0-9_-]+", "-", args.get("programme") or "all")[:60]
    name = f"funder-report-{programme}-{args['from_']}-{args['to']}.{format_}"
    return Response(
        document,
        mimetype=FORMATS[format_].split(";")[0],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def install_clock(now: Callable[[], datetime]) -> Callable[[Any, Any], None]:
    """The app's clock, built once in app.py and read by each request."""

    def configure(app: Any, _runtime: Any) -> None:
        app.extensions[CLOCK] = now

    return configure
