"""The screens' rules without a server: caseload sorting and search, the C-SSRS branching sent
to the API, the crisis banner, and the score chart."""

from __future__ import annotations

from datetime import date

from services.web import screens

TODAY = date(2026, 11, 30)


def _entry(
    ref: str, given: str, risk: str | None, review: str | None, dob: str = "1990-01-01"
) -> dict:  # type: ignore[type-arg]
    return {
        "client": {
            "id": ref.lower(),
            "reference": ref,
            "given_name": given,
            "family_name": "Lee",
            "date_of_birth": dob,
        },
        "highest_open_risk": risk,
        "open_risk_flags": 1 if risk else 0,
        "next_review_due": review,
    }


def test_the_caseload_puts_risk_and_overdue_work_first_and_finds_by_reference_or_birth_date() -> (
    None
):
    rows = screens.caseload_rows(
        [
            _entry("C-1", "Ann", None, "2026-12-20"),
            _entry("C-2", "Bob", "high", "2027-01-10"),
            _entry("C-3", "Cat", "moderate", "2026-11-01", dob="1985-05-05"),
        ],
        TODAY,
    )
    assert [row.reference for row in screens.filter_and_sort(rows)] == ["C-2", "C-3", "C-1"]
    assert [r.reference for r in screens.filter_and_sort(rows, overdue_only=True)] == ["C-3"]
    assert [r.reference for r in screens.filter_and_sort(rows, query="c-1")] == ["C-1"]
    assert [r.reference for r in screens.filter_and_sort(rows, query="1985-05-05")] == ["C-3"]
    assert [r.reference for r in screens.filter_and_sort(rows, risk="none")] == ["C-1"]
    assert [r.reference for r in screens.filter_and_sort(rows, sort="review")] == [
        "C-3",
        "C-1",
        "C-2",
    ]


def test_c_ssrs_q3_to_q5_reach_the_api_only_when_q2_is_yes() -> None:
    answers = {
        "cssrs_wish_to_be_dead": "yes",
        "cssrs_suicidal_thoughts": "no",
        "cssrs_method": "yes",
        "cssrs_behaviour_ever": "no",
    }
    assert screens.assessment_body(answers)["cssrs"] == {
        "wish_to_be_dead": True,
        "suicidal_thoughts": False,
        "behaviour_ever": False,
    }
    answers["cssrs_suicidal_thoughts"] = "yes"
    assert screens.assessment_body(answers)["cssrs"]["method"] is True
    assert "phq9" not in screens.assessment_body(
        {"phq9_0": "1"}
    )  # a half-answered PHQ-9 is not sent


def test_only_unacknowledged_urgent_alerts_raise_the_crisis_banner() -> None:
    items = [
        {"urgency": "urgent", "acknowledged_at": None, "subject": "a"},
        {"urgency": "urgent", "acknowledged_at": "2026-11-30T08:00:00Z", "subject": "b"},
        {"urgency": "normal", "acknowledged_at": None, "subject": "c"},
    ]
    assert [item["subject"] for item in screens.urgent_alerts(items)] == ["a"]


def test_scores_over_time_leave_superseded_versions_out() -> None:
    points = screens.score_history(
        [
            {"completed_at": "2026-10-01T10:00:00Z", "phq9": {"total": 20}, "gad7": None},
            {
                "completed_at": "2026-09-01T10:00:00Z",
                "phq9": {"total": 5},
                "gad7": {"total": 3},
                "superseded_by_id": "x",
            },
            {"completed_at": "2026-11-01T10:00:00Z", "phq9": {"total": 10}, "gad7": {"total": 8}},
        ]
    )
    assert [(p.phq9, p.gad7) for p in points] == [(20, None), (10, 8)]
    drawn = screens.chart(points)
    assert len(drawn["lines"]["phq9"]["dots"]) == 2 and len(drawn["lines"]["gad7"]["dots"]) == 1
