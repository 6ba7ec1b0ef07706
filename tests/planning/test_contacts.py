"""Contacts: recorded from assignment on (before any plan), in the words new users try
(`contact_type`, `duration_minutes`, or `mode`), late after 24 hours, signed and then locked,
corrected by addenda; the event carries no note text."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.planning.conftest import OWNER, SUPERVISOR, PlanningApi

NOTE = {"data": "Sleeping better.", "assessment": "Mood lifting.", "plan": "Call GP Friday."}


def assigned_client(planning: PlanningApi, owner: str = OWNER) -> dict[str, str]:
    """A client intake assigned to ``owner``, with no assessment and so no plan yet."""
    ids = {
        "client_id": str(uuid.uuid4()),
        "client_reference": "C-2001",
        "episode_id": str(uuid.uuid4()),
    }
    planning.deliver(
        "intake.case.assigned.v1",
        {
            **ids,
            "case_manager_id": owner,
            "supervisor_id": SUPERVISOR,
            "assigned_by": "iw-1",
            "method": "explicit",
            "over_cap": False,
            "assigned_at": datetime.now(UTC),
        },
    )
    return ids


def contact_body(**changes: Any) -> dict[str, Any]:
    return {
        "contact_type": "home_visit",
        "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "duration_minutes": 45,
        "location": "Client's flat",
        "participants": [{"kind": "client"}, {"kind": "professional", "description": "GP"}],
        "purpose": "Check on tenancy",
        "note": NOTE,
        **changes,
    }


def test_a_contact_is_recorded_after_assignment_before_any_plan(planning: PlanningApi) -> None:
    ids = assigned_client(planning)
    assert planning.call("GET", "/plans", query={"client_id": ids["client_id"]}).json["items"] == []
    response = planning.call(
        "POST", f"/clients/{ids['client_id']}/contacts", json_body=contact_body()
    )
    assert response.status_code == 201, response.json
    contact = response.json
    assert contact["contact_type"] == "home_visit" and contact["duration_minutes"] == 45
    assert contact["late"] is False and contact["signed"] is False
    assert contact["participants"][1] == {"kind": "professional", "description": "GP"}
    listed = planning.call("GET", f"/clients/{ids['client_id']}/contacts").json["items"]
    assert [c["id"] for c in listed] == [contact["id"]]


def test_mode_is_an_alias_of_contact_type_and_collateral_is_a_mode(planning: PlanningApi) -> None:
    ids = assigned_client(planning)
    body = contact_body(mode="collateral")
    del body["contact_type"]
    response = planning.call("POST", f"/clients/{ids['client_id']}/contacts", json_body=body)
    assert response.status_code == 201, response.json
    assert response.json["contact_type"] == "collateral"
    clash = planning.call(
        "POST",
        f"/clients/{ids['client_id']}/contacts",
        json_body=contact_body(mode="phone"),
    )
    assert clash.status_code == 422 and clash.content_type == "application/problem+json"


def test_a_contact_without_its_type_or_duration_is_refused_naming_them(
    planning: PlanningApi,
) -> None:
    ids = assigned_client(planning)
    body = contact_body()
    del body["contact_type"], body["duration_minutes"]
    response = planning.call("POST", f"/clients/{ids['client_id']}/contacts", json_body=body)
    assert response.status_code == 422
    assert {"contact_type", "duration_minutes"} <= set(response.json["errors"]["json"])


def test_nobody_records_a_contact_for_a_client_not_yet_assigned_or_not_theirs(
    planning: PlanningApi,
) -> None:
    unknown = planning.call("POST", f"/clients/{uuid.uuid4()}/contacts", json_body=contact_body())
    assert unknown.status_code == 404
    ids = assigned_client(planning)
    other = planning.call(
        "POST",
        f"/clients/{ids['client_id']}/contacts",
        as_=("cm-9", "case_manager"),
        json_body=contact_body(),
    )
    assert other.status_code == 404


def test_a_contact_recorded_more_than_a_day_later_is_late(planning: PlanningApi) -> None:
    ids = assigned_client(planning)
    old = (datetime.now(UTC) - timedelta(hours=25)).isoformat()
    response = planning.call(
        "POST", f"/clients/{ids['client_id']}/contacts", json_body=contact_body(occurred_at=old)
    )
    assert response.status_code == 201 and response.json["late"] is True
    recent = (datetime.now(UTC) - timedelta(hours=23)).isoformat()
    on_time = planning.call(
        "POST", f"/clients/{ids['client_id']}/contacts", json_body=contact_body(occurred_at=recent)
    )
    assert on_time.json["late"] is False
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert (
        planning.call(
            "POST",
            f"/clients/{ids['client_id']}/contacts",
            json_body=contact_body(occurred_at=future),
        ).status_code
        == 422
    )


def test_a_signed_note_is_locked_and_takes_addenda(planning: PlanningApi) -> None:
    ids = assigned_client(planning)
    contact = planning.call(
        "POST", f"/clients/{ids['client_id']}/contacts", json_body=contact_body()
    ).json
    too_early = planning.call(
        "POST", f"/contacts/{contact['id']}/addenda", json_body={"text": "More"}
    )
    assert too_early.status_code == 409
    changed = planning.call(
        "PATCH", f"/contacts/{contact['id']}", json_body={"note": {"plan": "Call GP Monday."}}
    )
    assert changed.status_code == 200 and changed.json["note"]["plan"] == "Call GP Monday."
    assert changed.json["note"]["data"] == NOTE["data"]
    assert changed.json["location"] == "Client's flat"  # left out of the PATCH: kept
    moved = planning.call("PATCH", f"/contacts/{contact['id']}", json_body={"location": None})
    assert moved.status_code == 200 and moved.json["location"] is None  # named: cleared
    signed = planning.call("POST", f"/contacts/{contact['id']}/sign")
    assert signed.status_code == 200 and signed.json["signed"] is True

    refused = planning.call(
        "PATCH", f"/contacts/{contact['id']}", json_body={"note": {"plan": "Rewrite"}}
    )
    assert refused.status_code == 409 and refused.json["reason"] == "signed"
    assert planning.call("POST", f"/contacts/{contact['id']}/sign").status_code == 409
    addendum = planning.call(
        "POST",
        f"/contacts/{contact['id']}/addenda",
        json_body={"text": "Correction: the GP was Dr Ahmed."},
    )
    assert addendum.status_code == 201, addendum.json
    after = planning.call("GET", f"/contacts/{contact['id']}").json
    assert after["note"] == {**NOTE, "plan": "Call GP Monday."}
    assert [a["text"] for a in after["addenda"]] == ["Correction: the GP was Dr Ahmed."]


def test_a_note_is_signed_only_with_every_dap_section(planning: PlanningApi) -> None:
    ids = assigned_client(planning)
    response = planning.call(
        "POST",
        f"/clients/{ids['client_id']}/contacts",
        json_body=contact_body(note={"data": "Seen"}, sign=True),
    )
    assert response.status_code == 422 and "note" in response.json["errors"]["json"]


def test_a_contact_names_goals_of_the_plan_only(planning: PlanningApi) -> None:
    ids = planning.new_episode(unmet=["housing"])
    goal = planning.plan(ids["plan_id"])["working_version"]["content"]["goals"][0]["id"]
    worked = planning.call(
        "POST", f"/clients/{ids['client_id']}/contacts", json_body=contact_body(goal_ids=[goal])
    )
    assert worked.status_code == 201 and worked.json["goal_ids"] == [goal]
    wrong = planning.call(
        "POST",
        f"/clients/{ids['client_id']}/contacts",
        json_body=contact_body(goal_ids=["not-a-goal"]),
    )
    assert wrong.status_code == 422


def test_the_contact_event_carries_no_note_text(planning: PlanningApi) -> None:
    ids = assigned_client(planning)
    planning.call(
        "POST", f"/clients/{ids['client_id']}/contacts", json_body=contact_body(sign=True)
    )
    [event] = planning.events("contact.recorded.v1")
    assert event["data"]["contact_type"] == "home_visit"
    assert event["data"]["duration_minutes"] == 45 and event["data"]["late"] is False
    text = json.dumps(event)
    assert all(NOTE[section] not in text for section in NOTE)
    assert "Check on tenancy" not in text and "GP" not in text


def test_the_supervisor_reads_and_an_admin_reads_but_cannot_write(planning: PlanningApi) -> None:
    ids = assigned_client(planning)
    planning.call("POST", f"/clients/{ids['client_id']}/contacts", json_body=contact_body())
    for caller in ((SUPERVISOR, "supervisor"), ("admin-1", "admin")):
        listed = planning.call("GET", f"/clients/{ids['client_id']}/contacts", as_=caller)
        assert listed.status_code == 200 and len(listed.json["items"]) == 1
    refused = planning.call(
        "POST",
        f"/clients/{ids['client_id']}/contacts",
        as_=("admin-1", "admin"),
        json_body=contact_body(),
    )
    assert refused.status_code == 403


def test_the_list_shows_each_contact_with_its_own_addenda_in_order(planning: PlanningApi) -> None:
    ids = assigned_client(planning)
    path = f"/clients/{ids['client_id']}/contacts"
    made = []
    for day, texts in ((1, ["first", "second"]), (2, []), (3, ["third"])):
        contact = planning.call(
            "POST",
            path,
            json_body=contact_body(
                occurred_at=(datetime.now(UTC) - timedelta(hours=10 - day)).isoformat(), sign=True
            ),
        ).json
        for text in texts:
            added = planning.call(
                "POST", f"/contacts/{contact['id']}/addenda", json_body={"text": text}
            )
            assert added.status_code == 201, added.json
        made.append((contact["id"], texts))
    listed = planning.call("GET", path).json["items"]  # newest first
    assert [(c["id"], [a["text"] for a in c["addenda"]]) for c in listed] == made[::-1]
    for contact_id, texts in made:
        alone = planning.call("GET", f"/contacts/{contact_id}").json
        assert [a["text"] for a in alone["addenda"]] == texts
