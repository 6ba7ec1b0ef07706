"""The supervisor's reports screen: the reporting service's figures as charts with their table,
small counts kept suppressed, the funder report passed on as a download, and no one else in."""

from __future__ import annotations

from datetime import date

from services.web import labels
from services.web.charts import (
    Bar,
    caseload_bars,
    count_bars,
    default_period,
    referral_bars,
    share_bars,
)
from tests.support.platform import wait_until
from tests.web.conftest import CASE_MANAGER, SUPERVISOR, WebPlatform


def test_suppressed_counts_keep_their_words_and_draw_no_bar() -> None:
    bars = count_bars([("housing-first", 12), ("therapy-now", "< 5"), ("meds-team", 6)])
    assert bars == [
        Bar("housing-first", "12", 1.0),
        Bar("therapy-now", "< 5", None),
        Bar("meds-team", "6", 0.5),
    ]


def test_rates_show_their_share_and_what_it_is_out_of() -> None:
    [shown, hidden, empty] = share_bars(
        [
            ("Reviews held on time", {"people": 9, "out_of": 12, "share": 0.75}),
            ("Crisis alerts acknowledged", {"people": "< 5", "out_of": "< 5", "share": None}),
            ("Nothing yet", {"people": 0, "out_of": 0, "share": None}),
        ]
    )
    assert shown == Bar("Reviews held on time", "75% (9 of 12)", 0.75)
    assert hidden.fraction is None and hidden.shown == "not enough people to show"
    assert empty.fraction is None and empty.shown == "none yet"


def test_caseload_bars_take_each_managers_latest_day_against_the_cap() -> None:
    rows = [
        {"on": "2026-11-01", "case_manager_id": "cm-a", "clients": 10, "cap": 20},
        {"on": "2026-11-20", "case_manager_id": "cm-a", "clients": 25, "cap": 20},
        {"on": "2026-11-20", "case_manager_id": "cm-b", "clients": 3, "cap": None},
    ]
    assert caseload_bars(rows) == [Bar("cm-a", "25 of 20", 1.0), Bar("cm-b", "3 (no cap)", None)]
    # named, as the report shows them: by display name, in the order of the names
    named = caseload_bars(rows, {"cm-a": "Zoe Park", "cm-b": "Ana Ortiz"})
    assert named == [Bar("Ana Ortiz", "3 (no cap)", None), Bar("Zoe Park", "25 of 20", 1.0)]


def test_partners_reasons_and_metrics_are_named_as_people_read_them() -> None:
    by_partner = {"housing-first": {"sent": 6}, "talk-therapy": {"sent": "< 5"}}
    assert referral_bars(by_partner, {"housing-first": "Housing First"}) == [
        Bar("Housing First", "6", 1.0),
        Bar("talk-therapy", "< 5", None),  # not in the directory: its id, not nothing
    ]
    same_name = {"a": {"sent": 6}, "b": {"sent": "< 5"}}  # two partners of one name still sort
    assert len(referral_bars(same_name, {"a": "Hope", "b": "Hope"})) == 2
    assert labels.discharge_reason("goals_met") == "Goals met"
    assert labels.discharge_reason("new_code") == "New code"
    assert labels.metric("hours_of_direct_service") == "hours of direct service"
    assert labels.metric("something_new") == "something new"


def test_the_default_period_is_the_last_90_days() -> None:
    assert default_period(date(2026, 11, 30)) == (date(2026, 9, 2), date(2026, 11, 30))


def test_supervisor_sees_the_teams_figures_and_downloads_the_funder_report(
    web_platform: WebPlatform,
) -> None:
    web_platform.seed_team_and_directory()
    intake = web_platform.api("intake")
    created = intake.post(
        "/clients",
        headers=web_platform.as_("iw-demo", "intake_worker"),
        json={"given_name": "Sam", "family_name": "Okafor", "date_of_birth": "1985-06-01"},
    )
    assert created.status_code == 201, created.json
    assigned = intake.post(
        f"/clients/{created.json['id']}/assignment",
        headers=web_platform.as_("iw-demo", "intake_worker"),
        json={"case_manager_id": CASE_MANAGER},
    )
    assert assigned.status_code == 201, assigned.json
    supervisor = web_platform.person(SUPERVISOR)
    assert wait_until(lambda: "1 of 2" in supervisor.text("/reports"), timeout=30)
    page = supervisor.text("/reports")
    assert "Caseload against cap" in page and '<th scope="row">Ana Ortiz</th>' in page
    assert CASE_MANAGER not in page  # the case manager by name, not by id
    assert "Not yet available: days from assignment to the first contact" in page
    assert "hours_of_direct_service" not in page
    assert 'role="img"' in page and "<table" in page  # the chart and its figures as a table
    assert "Sam" not in page and "Okafor" not in page  # figures only, never a name
    today = date.today().isoformat()
    download = supervisor.get(f"/reports/funder.csv?from=2026-01-01&to={today}")
    assert download.status_code == 200, download.get_data(as_text=True)[:500]
    assert download.headers["Content-Disposition"].startswith("attachment; filename=")
    assert "text/csv" in download.headers["Content-Type"]
    assert download.get_data(as_text=True).strip()
    assert supervisor.get("/reports/funder.exe").status_code == 404
    wrong = supervisor.get("/reports?from=yesterday", follow_redirects=True)
    assert wrong.status_code == 200 and "YYYY-MM-DD" in wrong.get_data(as_text=True)


def test_a_case_manager_has_no_reports_screen(web_platform: WebPlatform) -> None:
    web_platform.seed_team_and_directory()
    manager = web_platform.person(CASE_MANAGER)
    assert manager.get("/reports").status_code == 403
    assert "/reports" not in manager.text("/caseload")
