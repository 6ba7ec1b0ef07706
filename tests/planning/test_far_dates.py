"""Days and moments at the ends of Python's calendar (year 1 east of UTC, 9999-12-31, an end
worked out past it) are a 422 naming the field, never a 500, and write nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.planning.conftest import OWNER, PlanningApi
from tests.planning.test_contacts import assigned_client, contact_body

FAR = ["0001-01-01T00:30:00+14:00", "9999-12-31T23:00:00+00:00", "1899-12-31T12:00:00+00:00"]


def _refused(planning: PlanningApi, method: str, path: str, body: Any, field: str) -> None:
    response = planning.call(method, path, json_body=body, as_=(OWNER, "case_manager"))
    assert response.status_code == 422, (path, body, response.status_code, response.json)
    assert response.headers["Content-Type"] == "application/problem+json"
    assert field in str(response.json["errors"]), response.json


@pytest.mark.parametrize("moment", FAR)
def test_far_moments_and_days_are_refused_by_name(planning: PlanningApi, moment: str) -> None:
    client = assigned_client(planning)["client_id"]
    appointment = {"starts_at": moment, "duration_minutes": 120, "location": "x", "with_whom": []}
    _refused(planning, "POST", f"/clients/{client}/appointments", appointment, "starts_at")
    contact = contact_body(occurred_at=moment)
    _refused(planning, "POST", f"/clients/{client}/contacts", contact, "occurred_at")
    task = {"title": "Call back", "due_on": moment[:10], "client_id": client}
    _refused(planning, "POST", "/tasks", task, "due_on")
    calendar = planning.call(
        "GET", "/me/appointments", query={"from": moment}, as_=(OWNER, "case_manager")
    )
    assert calendar.status_code == 422 and "from" in str(calendar.json["errors"])
    listed = planning.call("GET", f"/clients/{client}/appointments", as_=(OWNER, "case_manager"))
    assert listed.json["items"] == []
