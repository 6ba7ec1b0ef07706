"""Figures as people may see them: small cells suppressed, and as the flat lines the CSV, XLSX
and PDF exports share."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from services.reporting import domain
from services.reporting.operations import exports
from services.reporting.operations.exports import Line
from services.reporting.operations.figures import Figures, compute, scope_for

#: Figures the issue lists that no event carries yet (contacts are not published).
NOT_YET_AVAILABLE = ("assignment_to_first_contact", "contacts_by_mode", "hours_of_direct_service")


def _mean(value: float | None, people: int) -> float | None:
    return None if 0 < people < domain.SMALL_CELL else value


def _outcome(figure: domain.OutcomeFigures) -> dict[str, Any]:
    return {
        "people": domain.suppress(figure.people),
        "mean_baseline": _mean(figure.mean_baseline, figure.people),
        "mean_latest": _mean(figure.mean_latest, figure.people),
        "mean_change": _mean(figure.mean_change, figure.people),
        "reliable_improvement": domain.suppress_rate(figure.reliable_improvement),
        "response": domain.suppress_rate(figure.response),
        "remission": domain.suppress_rate(figure.remission),
    }


def _partner(figure: domain.PartnerFigures) -> dict[str, Any]:
    reasons, rejected = domain.suppress_breakdown(figure.rejection_reasons)
    return {
        "sent": domain.suppress(figure.sent),
        "accepted": domain.suppress(figure.accepted),
        "completed": domain.suppress(figure.completed),
        "rejected": rejected,
        "rejection_reasons": reasons,
        "to_acceptance": domain.suppress_duration(figure.to_acceptance),
    }


def kpis(figures: Figures, *, with_caseload: bool = True) -> dict[str, Any]:
    """The figures with every count of people under 5 shown as "< 5". Per-case-manager caseload
    counts staff workload, not a cohort, and is shown as is (to supervisors and admins only)."""
    discharges, discharged = domain.suppress_breakdown(figures.discharges)
    body: dict[str, Any] = {
        "period": {"from_": figures.period.start, "to": figures.period.end},
        "programme": figures.scope.programme,
        "teams": sorted(figures.scope.teams) if figures.scope.teams is not None else None,
        "people_in_care": domain.suppress(figures.people_in_care),
        "registrations": domain.suppress(figures.registrations),
        "registration_to_assignment": domain.suppress_duration(figures.registration_to_assignment),
        "days_to_plan_approval": domain.suppress_duration(figures.plan_approval),
        "reviews_on_time": domain.suppress_rate(figures.reviews_on_time),
        "referrals_by_partner": {
            partner: _partner(figure) for partner, figure in figures.referrals.items()
        },
        "crisis_alerts_acknowledged_in_15_minutes": domain.suppress_rate(
            figures.crisis_acknowledged
        ),
        "outcomes": {name: _outcome(figure) for name, figure in figures.outcomes.items()},
        "discharges": {"by_reason": discharges, "total": discharged},
        "not_yet_available": list(NOT_YET_AVAILABLE),
    }
    if with_caseload:
        body["caseload"] = [
            {
                "on": point.on,
                "case_manager_id": point.case_manager_id,
                "team": point.team,
                "clients": point.clients,
                "cap": point.cap,
            }
            for point in figures.caseload
        ]
    return body


def _rate_lines(section: str, measure: str, rate: dict[str, Any], group: str = "all") -> list[Line]:
    return [
        Line(section, f"{measure} (people)", group, rate["people"]),
        Line(section, f"{measure} (out of)", group, rate["out_of"]),
        Line(section, f"{measure} (share)", group, rate["share"]),
    ]


def lines(body: dict[str, Any]) -> Iterator[Line]:
    """The funder report's cells, in reading order."""
    yield Line("Activity", "People in care", "all", body["people_in_care"])
    yield Line("Activity", "Registrations", "all", body["registrations"])
    for key, label in (
        ("registration_to_assignment", "Days from registration to assignment"),
        ("days_to_plan_approval", "Days from registration to plan approval"),
    ):
        yield Line("Timeliness", f"{label} (people)", "all", body[key]["people"])
        yield Line("Timeliness", f"{label} (median)", "all", body[key]["median_days"])
    yield from _rate_lines("Timeliness", "Reviews held on time", body["reviews_on_time"])
    yield from _rate_lines(
        "Crisis",
        "Alerts acknowledged within 15 minutes",
        body["crisis_alerts_acknowledged_in_15_minutes"],
    )
    for name, outcome in body["outcomes"].items():
        section = f"Outcomes {name.upper().replace('PHQ9', 'PHQ-9').replace('GAD7', 'GAD-7')}"
        yield Line(section, "People with a baseline and a follow-up", "all", outcome["people"])
        for measure in ("mean_baseline", "mean_latest", "mean_change"):
            yield Line(section, measure.replace("_", " ").capitalize(), "all", outcome[measure])
        for measure in ("reliable_improvement", "response", "remission"):
            yield from _rate_lines(
                section, measure.replace("_", " ").capitalize(), outcome[measure]
            )
    for partner, figure in body["referrals_by_partner"].items():
        for measure in ("sent", "accepted", "completed", "rejected"):
            yield Line("Referrals", f"Referrals {measure}", partner, figure[measure])
        for reason, count in figure["rejection_reasons"].items():
            yield Line("Referrals", f"Rejected: {reason}", partner, count)
        yield Line(
            "Referrals",
            "Days to acceptance (median)",
            partner,
            figure["to_acceptance"]["median_days"],
        )
    for reason, count in body["discharges"]["by_reason"].items():
        yield Line("Discharges", "Discharges", reason, count)
    yield Line("Discharges", "Discharges", "total", body["discharges"]["total"])


@dataclass(frozen=True)
class Caller:
    sub: str
    roles: frozenset[str]


def kpis_for(
    session: Session,
    caller: Caller,
    *,
    programme: str | None,
    team: str | None,
    period: domain.Period,
    today: date,
) -> dict[str, Any]:
    """``GET /kpis``: the caller's scope, the figures, small cells suppressed."""
    scope = scope_for(session, caller.sub, caller.roles, team=team, programme=programme)
    return kpis(compute(session, scope, period, today))


def funder_report_for(
    session: Session,
    caller: Caller,
    *,
    programme: str | None,
    team: str | None,
    period: domain.Period,
    today: date,
    format_: str,
) -> bytes:
    """``GET /reports/funder``: the same figures without per-case-manager rows, as a document."""
    scope = scope_for(session, caller.sub, caller.roles, team=team, programme=programme)
    body = kpis(compute(session, scope, period, today, with_caseload=False), with_caseload=False)
    meta = {"programme": programme, "from": period.start, "to": period.end}
    return exports.render(format_, meta, list(lines(body)))
