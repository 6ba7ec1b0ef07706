"""A client's casework in one request: the same plans, contacts and appointments as their three
lists, each part under its own list's access rule and audit, first pages that continue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.planning.conftest import OWNER, PlanningApi
from tests.planning.test_contacts import contact_body

ADMIN = ("admin-1", "admin")


def _audit(planning: PlanningApi, client_id: str) -> list[dict[str, Any]]:
    return planning.call("GET", "/audit", as_=ADMIN, query={"client_id": client_id}).json["items"]


def _contact(planning: PlanningApi, client_id: str, hours_ago: int) -> dict[str, Any]:
    made = planning.call(
        "POST",
        f"/clients/{client_id}/contacts",
        json_body=contact_body(
            occurred_at=(datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat()
        ),
    )
    assert made.status_code == 201, made.json
    return made.json


def test_the_casework_holds_what_the_three_lists_hold(planning: PlanningApi) -> None:
    ids = planning.new_episode()
    cid = ids["client_id"]
    for hours in (3, 2, 1):
        _contact(planning, cid, hours)
    booked = planning.call(
        "POST",
        f"/clients/{cid}/appointments",
        json_body={
            "starts_at": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
            "location": "Office",
        },
    )
    assert booked.status_code == 201, booked.json

    casework = planning.call("GET", f"/clients/{cid}/casework")
    assert casework.status_code == 200, casework.json
    body = casework.json
    assert body["plans"] == planning.call("GET", "/plans", query={"client_id": cid}).json
    assert body["contacts"] == planning.call("GET", f"/clients/{cid}/contacts").json
    assert body["appointments"] == planning.call("GET", f"/clients/{cid}/appointments").json
    assert [plan["id"] for plan in body["plans"]["items"]] == [ids["plan_id"]]
    assert len(body["contacts"]["items"]) == 3 and len(body["appointments"]["items"]) == 1


def test_a_long_list_continues_at_its_own_endpoint(planning: PlanningApi) -> None:
    cid = planning.new_episode()["client_id"]
    made = [_contact(planning, cid, hours)["id"] for hours in (3, 2, 1)]
    first = planning.call("GET", f"/clients/{cid}/casework", query={"limit": 2}).json["contacts"]
    assert [c["id"] for c in first["items"]] == made[::-1][:2] and first["next_cursor"]
    rest = planning.call(
        "GET", f"/clients/{cid}/contacts", query={"cursor": first["next_cursor"]}
    ).json
    assert [c["id"] for c in rest["items"]] == made[:1] and rest["next_cursor"] is None
    for limit in (0, 201, "many"):
        refused = planning.call("GET", f"/clients/{cid}/casework", query={"limit": limit})
        assert refused.status_code == 422, limit


def test_each_part_is_audited_as_its_list_and_a_stranger_sees_nothing(
    planning: PlanningApi,
) -> None:
    ids = planning.new_episode()
    cid = ids["client_id"]
    assert planning.call("GET", f"/clients/{cid}/casework").status_code == 200
    mine = [row for row in _audit(planning, cid) if row["actor"] == OWNER]
    read = {(row["entity"], row["detail"].get("via")) for row in mine if row["action"] == "read"}
    assert read == {("plan", "list"), ("contacts", "casework"), ("appointments", "casework")}
    stranger = planning.call("GET", f"/clients/{cid}/casework", as_=("cm-9", "case_manager"))
    assert stranger.status_code == 404
    assert stranger.headers["Content-Type"].startswith("application/problem+json")
    assert not [
        row for row in _audit(planning, cid) if row["actor"] == "cm-9" and row["action"] == "read"
    ]
    partner = planning.call("GET", f"/clients/{cid}/casework", as_=("p-1", "partner"))
    assert partner.status_code == 403


def test_plans_without_readable_casework_show_no_lists(planning: PlanningApi) -> None:
    """An unassigned client's drafted plan: an admin sees the plan; planning holds no episode of
    theirs to read casework from, as its contacts list would answer (404)."""
    ids = planning.new_episode(owner=None)
    cid = ids["client_id"]
    assert planning.call("GET", f"/clients/{cid}/contacts", as_=ADMIN).status_code == 404
    body = planning.call("GET", f"/clients/{cid}/casework", as_=ADMIN).json
    assert [plan["id"] for plan in body["plans"]["items"]] == [ids["plan_id"]]
    assert body["contacts"] is None and body["appointments"] is None
