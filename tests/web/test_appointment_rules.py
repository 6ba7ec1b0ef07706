"""Appointments on the web: one needs a place or a video link (refused on the form before
planning, which refuses it too, is asked), whether it was attended or missed is offered
only once it has begun, and a refused move comes back with what was typed beside the field."""

from __future__ import annotations

from tests.web.conftest import CASE_MANAGER, WebPlatform
from tests.web.test_casework import assigned_client, hours_ago

NOWHERE = "Enter a place or a video link (or both): an appointment happens somewhere."


def test_an_appointment_needs_somewhere_and_its_outcome_waits_for_its_start(
    web_platform: WebPlatform,
) -> None:
    web_platform.seed_team_and_directory()
    client_id = assigned_client(web_platform)
    manager = web_platform.person(CASE_MANAGER)
    manager.text(f"/clients/{client_id}/appointments/new")

    nowhere = manager.post(
        f"/clients/{client_id}/appointments",
        {"starts_at": hours_ago(-24), "location": "  ", "with_whom": "Jo Park (sister)"},
    )
    assert nowhere.status_code == 422
    page = nowhere.get_data(as_text=True)
    assert "<title>Error: Schedule an appointment" in page
    assert '<a href="#appt-location">' + NOWHERE in page  # the summary links to the field
    assert 'id="appt-location-error" class="field-error"' in page
    assert 'aria-describedby="appt-where-hint appt-location-error" aria-invalid="true"' in page
    assert "Jo Park (sister)</textarea>" in page  # nothing typed is lost
    planning = web_platform.api("planning")
    token = web_platform.as_(CASE_MANAGER, "case_manager")
    listed = planning.get(f"/clients/{client_id}/appointments", headers=token)
    assert listed.json["items"] == []

    future = manager.post(
        f"/clients/{client_id}/appointments",
        {"starts_at": hours_ago(-24), "video_link": "https://meet.example.org/room-7"},
    )
    assert future.status_code == 302, future.get_data(as_text=True)[-600:]
    future_path = future.headers["Location"]
    shown = manager.text(future_path)
    assert "Record as attended" not in shown and "Record no-show" not in shown
    assert "Cancel appointment" in shown and "Reschedule</button>" in shown
    assert "can be recorded once the appointment has begun" in shown
    early = manager.post(future_path + "/outcome", {"status": "no_show", "reason": "Not in"})
    assert early.status_code == 409
    assert "has not started yet" in early.get_data(as_text=True)
    assert 'data-status="scheduled"' in manager.text(future_path)

    # a refused reschedule keeps the new time and the reason typed
    moved = manager.post(
        future_path + "/reschedule", {"starts_at": "next Tuesday", "reason": "Client's exam"}
    )
    assert moved.status_code == 422
    page = moved.get_data(as_text=True)
    assert '<a href="#move-start">Enter the new time as a date and time.</a>' in page
    assert 'value="next Tuesday"' in page and 'value="Client&#39;s exam"' in page
    assert 'id="move-start-error"' in page

    past = manager.post(
        f"/clients/{client_id}/appointments",
        {"starts_at": hours_ago(1), "location": "Riverside clinic"},
    )
    shown = manager.text(past.headers["Location"])
    assert "Record as attended" in shown and "Record no-show" in shown
    assert "once the appointment has begun" not in shown
