"""Appointments: booked, then attended (the contact recorded in the same step), cancelled,
missed (a follow-up task) or rescheduled; only a scheduled one moves. The case manager's
iCalendar feed parses with the icalendar package, names no one, and its URL can be revoked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar

from shared.clock import Clock
from tests.planning.conftest import OWNER, PlanningApi
from tests.planning.test_contacts import assigned_client

NOON = datetime(2026, 11, 30, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock(planning: PlanningApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(planning.runtime, "clock", Clock(fixed=NOON))


def book(planning: PlanningApi, client_id: str, **changes: Any) -> dict[str, Any]:
    response = planning.call(
        "POST",
        f"/clients/{client_id}/appointments",
        json_body={
            "starts_at": (NOON + timedelta(days=1)).isoformat(),
            "duration_minutes": 50,
            "location": "Riverside clinic, room 2",
            "with_whom": ["Jo Park (sister)"],
            **changes,
        },
    )
    assert response.status_code == 201, response.json
    return response.json


def test_an_attended_appointment_becomes_a_contact_in_one_step(planning: PlanningApi) -> None:
    ids = assigned_client(planning)
    future = book(planning, ids["client_id"])
    early = planning.call("POST", f"/appointments/{future['id']}/attend", json_body={})
    assert early.status_code == 422  # not yet happened
    appointment = book(
        planning, ids["client_id"], starts_at=(NOON - timedelta(hours=2)).isoformat()
    )
    assert appointment["status"] == "scheduled"
    assert sorted(appointment["allowed_transitions"]) == [
        "attended",
        "cancelled",
        "no_show",
        "rescheduled",
    ]
    attended = planning.call(
        "POST",
        f"/appointments/{appointment['id']}/attend",
        json_body={
            "note": {"data": "Came with sister.", "assessment": "Calmer.", "plan": "Next week."},
            "sign": True,
        },
    )
    assert attended.status_code == 200, attended.json
    contact = attended.json["contact"]
    assert attended.json["appointment"]["status"] == "attended"
    assert attended.json["appointment"]["contact_id"] == contact["id"]
    assert contact["appointment_id"] == appointment["id"] and contact["signed"] is True
    assert contact["contact_type"] == "face_to_face" and contact["duration_minutes"] == 50
    assert contact["occurred_at"] == appointment["starts_at"]
    [recorded] = planning.events("contact.recorded.v1")
    assert recorded["data"]["appointment_id"] == appointment["id"]
    again = planning.call("POST", f"/appointments/{appointment['id']}/attend", json_body={})
    assert again.status_code == 409 and again.json["allowed"] == []


def test_a_no_show_makes_one_follow_up_task(planning: PlanningApi) -> None:
    ids = assigned_client(planning)
    appointment = book(planning, ids["client_id"])
    missed = planning.call(
        "POST",
        f"/appointments/{appointment['id']}/outcome",
        json_body={"status": "no_show", "reason": "No answer"},
    )
    assert missed.status_code == 200 and missed.json["status"] == "no_show"
    [task] = planning.call("GET", "/me/worklist").json["items"]
    assert task["source"] == "no_show" and task["client_reference"] == ids["client_reference"]
    assert (
        planning.call(
            "POST",
            f"/appointments/{appointment['id']}/outcome",
            json_body={"status": "cancelled"},
        ).status_code
        == 409
    )
    changes = planning.events("appointment.status_changed.v1")
    assert [e["data"]["status"] for e in changes] == ["no_show"]


def test_a_rescheduled_appointment_points_to_its_replacement(planning: PlanningApi) -> None:
    ids = assigned_client(planning)
    appointment = book(planning, ids["client_id"])
    moved_to = (NOON + timedelta(days=3)).isoformat()
    replacement = planning.call(
        "POST",
        f"/appointments/{appointment['id']}/reschedule",
        json_body={"starts_at": moved_to, "reason": "Client asked"},
    )
    assert replacement.status_code == 201, replacement.json
    assert replacement.json["status"] == "scheduled"
    assert replacement.json["location"] == "Riverside clinic, room 2"
    old = planning.call("GET", f"/appointments/{appointment['id']}").json
    assert old["status"] == "rescheduled" and old["rescheduled_to_id"] == replacement.json["id"]
    listed = planning.call("GET", f"/clients/{ids['client_id']}/appointments").json["items"]
    assert [a["status"] for a in listed] == ["rescheduled", "scheduled"]
    assert len(planning.events("appointment.scheduled.v1")) == 2


def test_an_appointment_needs_a_place_or_a_video_link(planning: PlanningApi) -> None:
    """Neither is a 422 naming ``location`` in the problem format, booked or moved alike."""
    ids = assigned_client(planning)
    nowhere = {"json": {"location": ["an appointment needs a place or a video link (or both)"]}}
    for where in ({"location": None}, {"location": None, "video_link": None}, {"location": " "}):
        refused = planning.call(
            "POST",
            f"/clients/{ids['client_id']}/appointments",
            json_body={"starts_at": (NOON + timedelta(days=1)).isoformat(), **where},
        )
        assert refused.status_code == 422, refused.json
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.json["errors"] == nowhere
    online = book(
        planning, ids["client_id"], location=None, video_link="https://meet.example.org/7"
    )
    assert online["location"] is None
    moved = planning.call(
        "POST",
        f"/appointments/{online['id']}/reschedule",
        json_body={"starts_at": (NOON + timedelta(days=2)).isoformat(), "video_link": None},
    )
    assert moved.status_code == 422 and moved.json["errors"] == nowhere
    assert planning.call("GET", f"/appointments/{online['id']}").json["status"] == "scheduled"
    assert len(planning.events("appointment.scheduled.v1")) == 1


def test_my_appointments_list_the_coming_two_weeks(planning: PlanningApi) -> None:
    ids = assigned_client(planning)
    book(planning, ids["client_id"])
    book(planning, ids["client_id"], starts_at=(NOON + timedelta(days=20)).isoformat())
    mine = planning.call("GET", "/me/appointments")
    assert mine.status_code == 200 and len(mine.json["items"]) == 1
    other = planning.call("GET", "/me/appointments", as_=("cm-9", "case_manager"))
    assert other.json["items"] == []


def test_the_calendar_feed_parses_names_no_one_and_can_be_revoked(planning: PlanningApi) -> None:
    ids = assigned_client(planning)
    kept = book(planning, ids["client_id"], video_link="https://video.example/room/42")
    cancelled = book(planning, ids["client_id"], starts_at=(NOON + timedelta(days=2)).isoformat())
    planning.call(
        "POST", f"/appointments/{cancelled['id']}/outcome", json_body={"status": "cancelled"}
    )
    issued = planning.call("POST", "/me/calendar-feed")
    assert issued.status_code == 201, issued.json
    feed = planning.http.get(issued.json["path"])
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    calendar = Calendar.from_ical(feed.data)
    [event] = calendar.walk("VEVENT")
    assert str(event["uid"]).startswith(kept["id"])
    assert event.decoded("dtstart") == NOON + timedelta(days=1)
    assert event.decoded("dtend") == NOON + timedelta(days=1, minutes=50)
    assert ids["client_reference"] in str(event["summary"])
    text = feed.get_data(as_text=True)
    assert "Jo Park" not in text and ids["client_id"] not in text

    renewed = planning.call("POST", "/me/calendar-feed").json
    assert planning.http.get(issued.json["path"]).status_code == 404
    assert planning.http.get(renewed["path"]).status_code == 200
    assert planning.call("DELETE", "/me/calendar-feed").status_code == 204
    gone = planning.http.get(renewed["path"])
    assert gone.status_code == 404 and gone.content_type == "application/problem+json"
    assert planning.call("DELETE", "/me/calendar-feed").status_code == 404


def test_another_case_managers_appointment_is_not_found(planning: PlanningApi) -> None:
    ids = assigned_client(planning)
    appointment = book(planning, ids["client_id"])
    for path in (f"/appointments/{appointment['id']}", f"/clients/{ids['client_id']}/appointments"):
        assert planning.call("GET", path, as_=("cm-9", "case_manager")).status_code == 404
    attempt = planning.call(
        "POST",
        f"/appointments/{appointment['id']}/outcome",
        as_=("cm-9", "case_manager"),
        json_body={"status": "cancelled"},
    )
    assert attempt.status_code == 404
    assert (
        planning.call("GET", f"/appointments/{appointment['id']}").json["case_manager_id"] == OWNER
    )
