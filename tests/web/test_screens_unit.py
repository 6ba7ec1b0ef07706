"""The screens' rules without a server: caseload sorting and search, the C-SSRS branching sent
to the API, the crisis banner, and the score chart."""

from __future__ import annotations

from datetime import date

from werkzeug.datastructures import MultiDict

from services.web import assessment_form, screens

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
    assert assessment_form.assessment_body(answers)["cssrs"] == {
        "wish_to_be_dead": True,
        "suicidal_thoughts": False,
        "behaviour_ever": False,
    }
    answers["cssrs_suicidal_thoughts"] = "yes"
    assert assessment_form.assessment_body(answers)["cssrs"]["method"] is True
    assert "phq9" not in assessment_form.assessment_body(
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
            {
                "completed_at": "2026-11-01T10:00:00Z",
                "phq9": {"total": 10, "severity": "moderate"},
                "gad7": {"total": 8, "severity": "mild"},
            },
        ]
    )
    assert [(p.phq9, p.gad7) for p in points] == [(20, None), (10, 8)]
    assert (points[1].phq9_severity, points[1].gad7_severity) == ("moderate", "mild")
    drawn = screens.chart(points)
    assert len(drawn["lines"]["phq9"]["dots"]) == 2 and len(drawn["lines"]["gad7"]["dots"]) == 1
    # The scale is marked at the severity cut-offs; 0 at the bottom, 27 at the top.
    ticks = dict(drawn["ticks"])
    assert list(ticks) == [0, 5, 10, 15, 20, 27]
    assert ticks[0] == drawn["baseline"] and ticks[27] < ticks[20] < ticks[10] < ticks[0]
    (first_x, first_y), (last_x, _) = drawn["lines"]["phq9"]["dots"]
    assert first_y == ticks[20] and first_x == drawn["left"] and last_x == drawn["right"]
    assert [day for _, day, _ in drawn["days"]] == ["2026-10-01", "2026-11-01"]
    # One assessment alone sits in the middle of the chart.
    alone = screens.chart(points[1:])
    ((x, _),) = alone["lines"]["phq9"]["dots"]
    assert x == (alone["left"] + alone["right"]) / 2


def test_the_caseload_shows_and_sorts_by_last_contact_never_seen_first() -> None:
    entries = [
        {**_entry("C-1", "Ann", None, None), "last_contact_at": "2026-11-20T10:00:00Z"},
        {**_entry("C-2", "Bob", None, None), "last_contact_at": None},
        {**_entry("C-3", "Cy", None, None), "last_contact_at": "2026-11-02T09:30:00+00:00"},
        _entry("C-4", "Di", None, None),  # intake not sending the field yet
    ]
    rows = screens.caseload_rows(entries, TODAY)
    assert [row.last_contact is None for row in rows] == [False, True, False, True]
    ordered = screens.filter_and_sort(rows, sort="last_contact")
    assert [row.reference for row in ordered] == ["C-2", "C-4", "C-3", "C-1"]
    assert screens.local_time(rows[0].last_contact) == "2026-11-20 10:00"


def test_the_contact_form_becomes_the_apis_contact() -> None:
    form = MultiDict(
        [
            ("contact_type", "collateral"),
            ("occurred_at", "2026-11-30T09:15"),
            ("duration_minutes", "20"),
            ("purpose", "Talk with the GP about medication"),
            ("participants", "client"),
            ("professionals", "GP, Dr Patel\n\n"),
            ("note_data", "GP reports good adherence."),
            ("note_assessment", ""),
            ("goal_ids", "g-1"),
            ("goal_ids", "g-2"),
            ("sign", "yes"),
        ]
    )
    body = screens.contact_body(form)
    assert body == {
        "contact_type": "collateral",
        "occurred_at": "2026-11-30T09:15:00+00:00",
        "duration_minutes": 20,
        "participants": [
            {"kind": "client"},
            {"kind": "professional", "description": "GP, Dr Patel"},
        ],
        "purpose": "Talk with the GP about medication",
        "note": {"data": "GP reports good adherence."},
        "goal_ids": ["g-1", "g-2"],
        "sign": True,
    }
    # What is blank or unreadable goes to the API as it is, so its 422 names the field.
    sparse = screens.contact_body(MultiDict([("duration_minutes", "twenty")]))
    assert "contact_type" not in sparse and sparse["duration_minutes"] == "twenty"


def test_the_appointment_form_keeps_a_place_or_a_video_link_and_who_comes() -> None:
    body = screens.appointment_body(
        MultiDict(
            [
                ("starts_at", "2026-12-02T14:00"),
                ("duration_minutes", "45"),
                ("location", " "),
                ("video_link", "https://meet.example.org/room"),
                ("with_whom", "Housing officer\nSister"),
            ]
        )
    )
    assert body == {
        "starts_at": "2026-12-02T14:00:00+00:00",
        "duration_minutes": 45,
        "video_link": "https://meet.example.org/room",
        "with_whom": ["Housing officer", "Sister"],
    }


def test_the_worklist_groups_late_today_and_coming_up_keeping_the_apis_order() -> None:
    tasks = [
        {"id": "a", "due_on": "2026-11-28", "late": True},
        {"id": "b", "due_on": "2026-11-30", "late": False},
        {"id": "c", "due_on": "2026-11-30", "late": False},
        {"id": "d", "due_on": "2026-12-04", "late": False},
    ]
    groups = screens.worklist_groups(tasks, TODAY)
    assert [(g["title"], [t["id"] for t in g["tasks"]]) for g in groups] == [
        ("Late", ["a"]),
        ("Today", ["b", "c"]),
        ("Coming up", ["d"]),
    ]
    assert screens.worklist_groups([], TODAY) == []


def test_a_supervisor_reads_the_worklists_of_the_teams_they_lead_only() -> None:
    managers = [
        {"id": "cm-1", "team": "north", "supervisor_id": "sup-1"},
        {"id": "cm-2", "team": "south", "supervisor_id": "sup-2"},
        {"id": "cm-3", "team": "north", "supervisor_id": "sup-1"},
        {"id": "cm-4", "team": None, "supervisor_id": "sup-1"},
    ]
    assert screens.supervised_teams(managers, "sup-1") == ["north"]
    assert screens.supervised_teams(managers, "admin-1", every_team=True) == ["north", "south"]


def test_the_goals_a_contact_can_name_are_the_plans_working_version() -> None:
    plan = {
        "id": "p-1",
        "working_version": {
            "content": {
                "goals": [
                    {"id": "g-1", "domain": "housing", "in_own_words": "A place of my own"},
                    {"id": "g-2", "domain": "income", "in_own_words": ""},
                ]
            }
        },
    }
    assert screens.goal_names(plan) == {"g-1": "Housing: A place of my own", "g-2": "Income"}
    assert screens.goal_names(None) == {}
