"""The KPIs and the funder report over HTTP: who sees what, small cells suppressed, the
documents open and say what they should."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.reporting.conftest import ReportingApi
from tests.reporting.scenario import cohort

QUERY = {"from": "2026-01-01", "to": "2026-03-31"}


@pytest.fixture
def loaded(reporting: ReportingApi) -> ReportingApi:
    reporting.deliver(cohort())
    return reporting


def test_kpis_suppress_cells_under_five_people(loaded: ReportingApi) -> None:
    response = loaded.call("GET", "/kpis", query={**QUERY, "programme": "housing-first"})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["registrations"] == 6
    assert body["registration_to_assignment"] == {"people": 6, "median_days": 3.5}
    assert body["days_to_plan_approval"] == {"people": 5, "median_days": 30.0}
    # 2 of 4 reviews: the denominator is small, so counts and share are withheld
    assert body["reviews_on_time"] == {"people": "< 5", "out_of": "< 5", "share": None}
    # 3 of 5 improved reliably: 2 did not, which is a small cell too
    assert body["outcomes"]["phq9"]["reliable_improvement"]["share"] is None
    assert body["outcomes"]["phq9"]["people"] == 5
    assert body["outcomes"]["phq9"]["mean_change"] == -7.0
    assert body["outcomes"]["gad7"]["people"] == "< 5"
    assert body["outcomes"]["gad7"]["mean_change"] is None
    # one reason hidden, so the total that would reveal it is hidden too
    assert body["discharges"] == {"by_reason": {"goals-met": "< 5"}, "total": "< 5"}
    assert body["referrals_by_partner"]["housing-co"]["rejected"] == "< 5"
    assert "assignment_to_first_contact" in body["not_yet_available"]


def test_a_supervisor_sees_their_teams_only(loaded: ReportingApi) -> None:
    north = loaded.call("GET", "/kpis", query=QUERY, as_=("sup-north", "supervisor")).json
    assert north["teams"] == ["north"] and north["registrations"] == 6
    assert {row["case_manager_id"] for row in north["caseload"]} == {"cm-1", "cm-2"}
    south = loaded.call("GET", "/kpis", query=QUERY, as_=("sup-south", "supervisor")).json
    assert south["registrations"] == "< 5"
    refused = loaded.call(
        "GET", "/kpis", query={**QUERY, "team": "north"}, as_=("sup-south", "supervisor")
    )
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    every = loaded.call("GET", "/kpis", query=QUERY, as_=("analyst", "reporting")).json
    assert every["teams"] is None and every["registrations"] == 7


@pytest.mark.parametrize(
    ("caller", "status"),
    [(None, 401), (("cm-1", "case_manager"), 403), (("p", "partner"), 403)],
)
def test_only_supervisors_admins_and_reporting_read_figures(
    reporting: ReportingApi, caller: tuple[str, ...] | None, status: int
) -> None:
    assert reporting.call("GET", "/kpis", query=QUERY, as_=caller).status_code == status


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2026-03-31", "to": "2026-01-01"},
        {"from": "2026-01-01"},
        {"from": "yesterday", "to": "2026-01-01"},
        {**QUERY, "format": "docx"},
        {**QUERY, "colour": "red"},
        # No midnight follows 9999-12-31; 0001-01-01's is before year 1 east of UTC.
        {"from": "9999-12-01", "to": "9999-12-31"},
        {"from": "0001-01-01", "to": "0001-01-31"},
    ],
)
def test_bad_queries_are_refused_with_a_problem(
    reporting: ReportingApi, query: dict[str, str]
) -> None:
    for path in ("/reports/funder", "/kpis"):
        response = reporting.call("GET", path, query=query)
        assert response.status_code in (400, 422), (path, response.status_code)
        assert response.headers["Content-Type"] == "application/problem+json"


def test_funder_report_as_csv_has_the_suppressed_figures_and_methods(loaded: ReportingApi) -> None:
    response = loaded.call(
        "GET", "/reports/funder", query={**QUERY, "programme": "housing-first", "format": "csv"}
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    cells = {(row[1], row[2]): row[3] for row in rows[1:] if len(row) == 4}
    assert cells[("Registrations", "all")] == "6"
    assert cells[("Discharges", "total")] == "< 5"
    assert cells[("Referrals sent", "housing-co")] == "< 5"
    assert any(row and row[0] == "methods" for row in rows)
    assert not any("case_manager" in ",".join(row) or "cm-1" in ",".join(row) for row in rows)


def test_funder_report_xlsx_opens_with_openpyxl(loaded: ReportingApi) -> None:
    response = loaded.call("GET", "/reports/funder", query={**QUERY, "format": "xlsx"})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames == ["Figures", "Charts", "Methods"]
    values = {
        (row[0], row[1], row[2]): row[3]
        for row in book["Figures"].iter_rows(min_row=3, values_only=True)
    }
    assert values[("Activity", "Registrations", "all")] == 7
    assert values[("Outcomes PHQ-9", "People with a baseline and a follow-up", "all")] == 5
    assert values[("Outcomes GAD-7", "People with a baseline and a follow-up", "all")] == "< 5"
    assert "< 5" in str(book["Methods"]["A1"].value)


def test_funder_report_pdf_renders_with_its_figures(loaded: ReportingApi) -> None:
    response = loaded.call(
        "GET", "/reports/funder", query={**QUERY, "programme": "housing-first", "format": "pdf"}
    )
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pages = PdfReader(io.BytesIO(response.get_data())).pages
    text = " ".join(" ".join(page.extract_text().split()) for page in pages)
    assert "Funder report: housing-first, 2026-01-01 to 2026-03-31" in text
    assert "Days from registration to plan approval (median)" in text
    assert "Registrations all 6" in text
    assert "Discharges total < 5" in text and "Methods" in text
