"""Casework through the Flask test client, against the four real services and their workers:
a contact recorded, signed and corrected by addendum (never edited once signed), an
appointment attended into its contact, a no-show's task done or dismissed on "My day", the
supervisor's team worklist, the calendar address, and what other roles are not shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.web.screens import datetime_field
from tests.support.platform import wait_until
from tests.web.conftest import CASE_MANAGER, SUPERVISOR, WebPlatform

NOTE = {
    "note_data": "Flat tidy; reports sleeping better.",
    "note_assessment": "Mood improving; tenancy at risk over arrears.",
    "note_plan": "Apply for the hardship fund by Friday.",
}


def hours_ago(hours: int) -> str:
    """A ``datetime-local`` value earlier today: an appointment is attended once it has begun."""
    return datetime_field(datetime.now(UTC) - timedelta(hours=hours))


def assigned_client(web_platform: WebPlatform, given: str = "Sam", family: str = "Chen") -> str:
    intake = web_platform.api("intake")
    worker = web_platform.as_("iw-demo", "intake_worker")
    created = intake.post(
        "/clients",
        headers=worker,
        json={"given_name": given, "family_name": family, "date_of_birth": "1990-02-03"},
    )
    assert created.status_code == 201, created.json
    client_id = str(created.json["id"])
    assigned = intake.post(
        f"/clients/{client_id}/assignment", headers=worker, json={"case_manager_id": CASE_MANAGER}
    )
    assert assigned.status_code == 201, assigned.json
    planning, manager = web_platform.api("planning"), web_platform.as_(CASE_MANAGER, "case_manager")
    assert wait_until(  # planning learns of the assignment from intake's event, a moment later
        lambda: planning.get(f"/clients/{client_id}/contacts", headers=manager).status_code == 200,
        timeout=15,
    ), "planning never learned of the assignment"
    return client_id


def _located(response: object) -> str:
    return str(response.headers["Location"])  # type: ignore[attr-defined]


def test_a_signed_contact_is_locked_and_takes_addenda(web_platform: WebPlatform) -> None:
    web_platform.seed_team_and_directory()
    client_id = assigned_client(web_platform)
    manager = web_platform.person(CASE_MANAGER)
    record = manager.text(f"/clients/{client_id}")
    assert "No contact recorded yet." in record and "Record a contact" in record
    form = manager.text(f"/clients/{client_id}/contacts/new")
    assert "Collateral (with another professional)" in form

    refused = manager.post(
        f"/clients/{client_id}/contacts",
        {"contact_type": "home_visit", "occurred_at": "2026-11-30T10:00", "purpose": "Visit"},
    )
    assert refused.status_code == 422
    again = refused.get_data(as_text=True)
    assert "duration_minutes" in again and 'value="Visit"' in again  # nothing typed is lost

    recorded = manager.post(
        f"/clients/{client_id}/contacts",
        {
            "contact_type": "home_visit",
            "occurred_at": "2026-11-02T10:00",
            "duration_minutes": "45",
            "purpose": "Check on tenancy and mood",
            "participants": "client",
            "professionals": "Housing officer",
            "note_data": NOTE["note_data"],
        },
    )
    assert recorded.status_code == 302, recorded.get_data(as_text=True)[-600:]
    contact_path = _located(recorded)
    draft = manager.text(contact_path)
    assert "Contact recorded (draft)." in draft and "Late entry" in draft
    assert "Save draft note" in draft and "Sign note" in draft
    assert "Add addendum" not in draft

    refused_sign = manager.post(contact_path + "/sign")
    assert refused_sign.status_code == 422  # every section needed, said beside the draft
    unsigned = refused_sign.get_data(as_text=True)
    assert "Save draft note" in unsigned and 'href="#edit-note">A signed note needs' in unsigned
    assert NOTE["note_data"] in unsigned  # the draft as saved
    assert (
        manager.post(contact_path, {"purpose": "Check on tenancy and mood", **NOTE}).status_code
        == 302
    )
    signed = manager.post(contact_path + "/sign", follow_redirects=True).get_data(as_text=True)
    assert "Note signed" in signed and 'data-status="signed"' in signed
    assert "Save draft note" not in signed and '<textarea id="edit-' not in signed
    assert "Add addendum" in signed

    # a signed note refuses a change even when posted directly; the API's words are shown
    changed = manager.post(contact_path, {**NOTE, "note_plan": "Something else"})
    assert changed.status_code == 409
    page = changed.get_data(as_text=True)
    assert 'class="error-summary"' in page and "Apply for the hardship fund by Friday." in page

    corrected = manager.post(
        contact_path + "/addenda",
        {"text": "Correction: the housing officer was Ms Diaz."},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Addendum added." in corrected and "Ms Diaz" in corrected

    listed = manager.text(f"/clients/{client_id}")
    assert "Home visit" in listed and "Signed · 1 addendum" in listed and "Late entry" in listed

    # an administrator reads the note and its addenda but is offered no control over them
    admin_view = web_platform.person("admin-demo").text(contact_path)
    assert "Ms Diaz" in admin_view and "Apply for the hardship fund by Friday." in admin_view
    assert "Add addendum" not in admin_view and "Sign note" not in admin_view
    assert "Record a contact" not in web_platform.person("admin-demo").text(f"/clients/{client_id}")

    # an intake worker sees the record but no casework on it
    intake_view = web_platform.person("iw-demo").text(f"/clients/{client_id}")
    assert "Check on tenancy" not in intake_view and "Record a contact" not in intake_view
    assert web_platform.person("iw-demo").get(contact_path).status_code == 403


def test_an_attended_appointment_becomes_its_contact(web_platform: WebPlatform) -> None:
    web_platform.seed_team_and_directory()
    client_id = assigned_client(web_platform)
    manager = web_platform.person(CASE_MANAGER)
    manager.text(f"/clients/{client_id}/appointments/new")
    refused = manager.post(
        f"/clients/{client_id}/appointments",
        {"starts_at": "2026-12-02T14:00", "video_link": "http://not-secure.example.org"},
    )
    assert refused.status_code == 422
    again = refused.get_data(as_text=True)
    https = "Enter the video link as a full web address starting with https://."
    assert again.count(https) == 2  # once beside the field, once in the summary linking to it
    assert '<a href="#appt-video">' + https in again
    assert 'aria-describedby="appt-where-hint appt-video-error" aria-invalid="true"' in again
    assert "video_link" not in again.split("<main", 1)[1].replace('name="video_link"', "")
    assert 'value="http://not-secure.example.org"' in again
    booked = manager.post(
        f"/clients/{client_id}/appointments",
        {
            "starts_at": hours_ago(2),
            "duration_minutes": "60",
            "location": "Riverside clinic, room 2",
            "with_whom": "Housing officer",
        },
    )
    assert booked.status_code == 302, booked.get_data(as_text=True)[-600:]
    appointment_path = _located(booked)
    shown = manager.text(appointment_path)
    for move in ("Record as attended", "Cancel appointment", "Record no-show", "Reschedule"):
        assert move in shown
    assert "Riverside clinic, room 2" in manager.text(f"/clients/{client_id}")

    attended = manager.post(
        appointment_path + "/attend", {"contact_type": "face_to_face", **NOTE, "sign": "yes"}
    )
    assert attended.status_code == 302
    contact_page = manager.text(_located(attended))
    assert "its contact is recorded below" in contact_page
    assert "Face to face contact" in contact_page and 'data-status="signed"' in contact_page
    after = manager.text(appointment_path)
    assert 'data-status="attended"' in after and "The contact recorded when attended" in after
    assert "Record no-show" not in after  # an attended appointment moves no more

    second = _located(
        manager.post(
            f"/clients/{client_id}/appointments",
            {"starts_at": hours_ago(-24), "video_link": "https://meet.example.org/room-7"},
        )
    )
    moved = manager.post(
        second + "/reschedule",
        {"starts_at": hours_ago(-48), "reason": "Client asked for Thursday"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Rescheduled to" in moved and 'data-status="scheduled"' in moved
    old = manager.text(second)
    assert 'data-status="rescheduled"' in old and "Client asked for Thursday" in old
    assert "the new appointment" in old and "Reschedule</button>" not in old
    cancelled = manager.post(
        _located(
            manager.post(
                f"/clients/{client_id}/appointments",
                {"starts_at": hours_ago(-72), "location": "Clinic"},
            )
        )
        + "/outcome",
        {"status": "cancelled", "reason": "Clinic closed"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Appointment cancelled." in cancelled and 'data-status="cancelled"' in cancelled


def test_a_no_show_lands_on_my_day_and_is_dismissed_with_a_reason(
    web_platform: WebPlatform,
) -> None:
    web_platform.seed_team_and_directory()
    client_id = assigned_client(web_platform)
    manager = web_platform.person(CASE_MANAGER)
    manager.text(f"/clients/{client_id}")
    booked = manager.post(
        f"/clients/{client_id}/appointments",
        {"starts_at": "2026-11-30T09:00", "location": "Clinic"},
    )
    appointment_path = _located(booked)
    no_show = manager.post(
        appointment_path + "/outcome",
        {"status": "no_show", "reason": "No answer at door"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "follow-up task is on your worklist" in no_show and 'data-status="no_show"' in no_show

    day = manager.text("/worklist")
    assert 'href="/worklist">My day</a>' in day
    assert 'data-source="no_show"' in day and "No show" in day
    task_id = day.split('action="/tasks/', 1)[1].split("/close", 1)[0]

    no_reason = manager.post(
        f"/tasks/{task_id}/close", {"status": "dismissed"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "flash-error" in no_reason and 'data-source="no_show"' in no_reason
    dismissed = manager.post(
        f"/tasks/{task_id}/close",
        {"status": "dismissed", "reason": "Client phoned; rebooked"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "the reason is recorded" in dismissed and 'data-source="no_show"' not in dismissed

    # the calendar address: made (shown once), then revoked
    made = manager.post("/calendar-feed", follow_redirects=True).get_data(as_text=True)
    assert 'id="calendar-url"' in made and "/calendar/" in made and ".ics" in made
    assert 'id="calendar-url"' not in manager.text("/worklist")
    revoked = manager.post("/calendar-feed/revoke", follow_redirects=True).get_data(as_text=True)
    assert "Calendar address revoked" in revoked


def test_the_supervisor_sees_what_is_late_in_the_team(web_platform: WebPlatform) -> None:
    web_platform.seed_team_and_directory()
    created = web_platform.api("planning").post(
        "/tasks",
        headers=web_platform.as_(CASE_MANAGER, "case_manager"),
        json={"title": "Call the housing officer", "due_on": "2026-01-05"},
    )
    assert created.status_code == 201, created.json
    supervisor = web_platform.person(SUPERVISOR)
    team = supervisor.text("/team/worklist")
    assert "north: 1 late task" in team and "Call the housing officer" in team
    assert "Ana Ortiz" in team and "Late" in team
    manager = web_platform.person(CASE_MANAGER)
    assert "Team worklist" not in manager.text("/worklist")
    caseload = manager.text("/caseload")
    assert '<th scope="col">Last contact</th>' in caseload and 'value="last_contact"' in caseload
    assert manager.get("/team/worklist").status_code == 403
    assert "My day" not in web_platform.person("iw-demo").text("/intake")


def test_a_contact_names_the_plan_goals_it_worked_on(web_platform: WebPlatform) -> None:
    web_platform.seed_team_and_directory()
    client_id = assigned_client(web_platform)
    assessed = web_platform.api("intake").post(
        f"/clients/{client_id}/assessments",
        headers=web_platform.as_("iw-demo", "intake_worker"),
        json={"domains": {"housing": {"rating": "unmet_need", "notes": "sofa-surfing"}}},
    )
    assert assessed.status_code == 201, assessed.json
    manager = web_platform.person(CASE_MANAGER)
    assert wait_until(
        lambda: 'name="goal_ids"' in manager.text(f"/clients/{client_id}/contacts/new"),
        timeout=30,
    )
    form = manager.text(f"/clients/{client_id}/contacts/new")
    goal_id = form.split('name="goal_ids" value="', 1)[1].split('"', 1)[0]
    recorded = manager.post(
        f"/clients/{client_id}/contacts",
        {
            "contact_type": "phone",
            "occurred_at": hours_ago(1),
            "duration_minutes": "15",
            "purpose": "Housing options",
            "participants": "client",
            "goal_ids": goal_id,
            **NOTE,
            "sign": "yes",
        },
    )
    assert recorded.status_code == 302, recorded.get_data(as_text=True)[-600:]
    shown = manager.text(_located(recorded))
    assert "Contact recorded and signed." in shown and "Late entry" not in shown
    worked_on = shown.split("<dt>Goals worked on</dt><dd>", 1)[1].split("</dd>", 1)[0]
    assert worked_on.startswith("Housing"), worked_on
