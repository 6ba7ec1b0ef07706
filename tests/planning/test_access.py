"""Who may see and change a plan: its owner and their supervisor; others get 404 or 403."""

from __future__ import annotations

import pytest

from tests.planning.conftest import SUPERVISOR, PlanningApi

CALLERS = {
    "owner": (("cm-1", "case_manager"), 200, 200),
    "owner's supervisor": ((SUPERVISOR, "supervisor"), 200, 200),
    "other case manager": (("cm-2", "case_manager"), 404, 404),
    "other supervisor": (("sup-2", "supervisor"), 404, 404),
    "admin": (("admin-1", "admin"), 200, 403),
    "intake worker": (("iw-1", "intake_worker"), 403, 403),
    "partner": (("p-1", "partner"), 403, 403),
}


@pytest.mark.parametrize("caller", list(CALLERS))
def test_plan_access(planning: PlanningApi, caller: str) -> None:
    identity, can_read, can_edit = CALLERS[caller]
    plan_id = planning.new_episode(unmet=["housing"])["plan_id"]
    goal_id = planning.plan(plan_id)["working_version"]["content"]["goals"][0]["id"]
    reads = [
        f"/plans/{plan_id}",
        f"/plans/{plan_id}/versions",
        f"/plans/{plan_id}/versions/1",
        f"/plans/{plan_id}/goals/{goal_id}/progress-notes",
    ]
    for path in reads:
        assert planning.call("GET", path, as_=identity).status_code == can_read, path
    edit = planning.call(
        "PATCH",
        f"/plans/{plan_id}/goals/{goal_id}",
        as_=identity,
        json_body={"measurable_target": "Keys in hand"},
    )
    assert edit.status_code == can_edit
    listed = planning.call("GET", "/plans", as_=identity)
    if can_read == 403:
        assert listed.status_code == 403
    else:
        assert [p["id"] for p in listed.json["items"]] == ([plan_id] if can_read == 200 else [])
    assert planning.call("GET", f"/plans/{plan_id}", as_=None).status_code == 401


def test_reads_and_changes_are_audited(planning: PlanningApi) -> None:
    plan_id = planning.new_episode(unmet=["housing"])["plan_id"]
    planning.call("GET", f"/plans/{plan_id}")
    planning.write_goals(plan_id)
    entries = planning.call("GET", "/audit", as_=("admin-1", "admin"), query={"limit": 200}).json[
        "items"
    ]
    mine = [
        (e["actor"], e["action"])
        for e in entries
        if e["entity_id"] == plan_id and e["actor"] == "cm-1"
    ]
    assert ("cm-1", "read") in mine and ("cm-1", "update_goal") in mine


def test_openapi_documents_every_operation(planning: PlanningApi) -> None:
    spec = planning.http.get("/openapi.json").json
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            assert operation.get("summary") or operation.get("description"), (method, path)
            # the calendar feed's credential is the secret in its URL (a calendar app sends no token)
            expected = [] if path == "/calendar/{secret}.ics" else [{"bearerAuth": []}]
            assert operation["security"] == expected, (method, path)
            if "requestBody" in operation:
                assert "example" in operation["requestBody"]["content"]["application/json"], (
                    method,
                    path,
                )
