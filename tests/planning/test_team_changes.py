"""A team change or a reassignment in intake reaches planning's access rules through the broker:
the people who no longer carry or supervise the client lose the plan, the new ones get it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from shared.config import Settings
from tests.planning.conftest import COMPLETE_SAFETY_PLAN, PlanningApi
from tests.support.backends import Backend
from tests.support.journey import admit_client, bearer
from tests.support.platform import wait_until
from tests.support.services import RunningServices

HIGH_RISK = {
    "domains": {"housing": {"rating": "unmet_need"}},
    "cssrs": {
        "wish_to_be_dead": True,
        "suicidal_thoughts": True,
        "method": True,
        "intent": True,
        "plan_with_intent": False,
    },
}


@pytest.fixture
def services(backend: Backend, data_dir: Path) -> Iterator[RunningServices]:
    running = RunningServices(backend, data_dir, ["intake", "planning"])
    yield running
    running.shutdown()


def _hire(intake: FlaskClient, settings: Settings, person: str, supervisor: str) -> Any:
    """An admin adds or moves a case manager: the change intake announces to every service."""
    saved = intake.put(
        f"/case-managers/{person}",
        headers=bearer(settings, "admin-1", "admin"),
        json={
            "display_name": person.upper(),
            "team": f"team-{supervisor}",
            "supervisor_id": supervisor,
        },
    )
    assert saved.status_code == 200, saved.json
    return saved.json


def test_the_safety_plan_follows_a_team_change_a_reassignment_and_a_departure(
    services: RunningServices,
) -> None:
    intake = services["intake"].create_app().test_client()
    planning = services["planning"].create_app().test_client()
    settings = services["intake"].settings

    def status(person: str, role: str, plan_id: str, *, write: bool = False) -> int:
        headers = bearer(settings, person, role)
        if write:
            return planning.put(
                f"/plans/{plan_id}/safety-plan", headers=headers, json=COMPLETE_SAFETY_PLAN
            ).status_code
        return planning.get(f"/plans/{plan_id}", headers=headers).status_code

    client = admit_client(intake, settings, case_manager="cm-1", supervisor="sup-1")
    _hire(intake, settings, "cm-2", "sup-1")
    assessed = intake.post(
        f"/clients/{client['id']}/assessments",
        headers=bearer(settings, "cm-1", "case_manager"),
        json=HIGH_RISK,
    )
    assert assessed.json["risk_level"] == "high"
    services.start_workers()

    def the_plan() -> Any:
        plans = planning.get("/plans", headers=bearer(settings, "admin-1", "admin")).json["items"]
        return plans[0] if plans and plans[0]["safety_plan_required"] else None

    assert wait_until(lambda: the_plan() is not None, timeout=30)
    plan_id = the_plan()["id"]
    assert wait_until(lambda: status("sup-1", "supervisor", plan_id) == 200, timeout=30)
    assert status("sup-1", "supervisor", plan_id, write=True) == 200
    assert status("sup-2", "supervisor", plan_id) == 404

    # the case manager moves to sup-2's team: sup-2 reads and changes the safety plan, sup-1 not
    moved = _hire(intake, settings, "cm-1", "sup-2")
    assert moved["supervisor_id"] == "sup-2"
    assert wait_until(lambda: status("sup-2", "supervisor", plan_id) == 200, timeout=30)
    assert status("sup-2", "supervisor", plan_id, write=True) == 200
    assert status("sup-1", "supervisor", plan_id) == 404
    assert status("sup-1", "supervisor", plan_id, write=True) == 404
    listed = planning.get("/plans", headers=bearer(settings, "sup-1", "supervisor")).json["items"]
    assert plan_id not in [plan["id"] for plan in listed]
    assert status("cm-1", "case_manager", plan_id) == 200

    # the client is reassigned to cm-2 of sup-1's team: the plan goes with them
    reassigned = intake.post(
        f"/clients/{client['id']}/assignment",
        headers=bearer(settings, "admin-1", "admin"),
        json={"case_manager_id": "cm-2"},
    )
    assert reassigned.status_code == 201, reassigned.json
    assert wait_until(lambda: status("cm-2", "case_manager", plan_id) == 200, timeout=30)
    assert status("cm-2", "case_manager", plan_id, write=True) == 200
    assert status("cm-1", "case_manager", plan_id) == 404
    assert status("cm-1", "case_manager", plan_id, write=True) == 404
    assert status("sup-1", "supervisor", plan_id) == 200
    assert status("sup-2", "supervisor", plan_id) == 404
    shown = planning.get(f"/plans/{plan_id}", headers=bearer(settings, "admin-1", "admin")).json
    assert (shown["owner_id"], shown["supervisor_id"]) == ("cm-2", "sup-1")

    # cm-2 leaves (deactivated): they lose the plan, their supervisor keeps it
    left = intake.put(
        "/case-managers/cm-2",
        headers=bearer(settings, "sup-1", "supervisor"),
        json={
            "display_name": "CM-2",
            "team": "team-sup-1",
            "supervisor_id": "sup-1",
            "active": False,
        },
    )
    assert left.status_code == 200, left.json
    assert wait_until(lambda: status("cm-2", "case_manager", plan_id) == 404, timeout=30)
    assert status("cm-2", "case_manager", plan_id, write=True) == 404
    assert status("sup-1", "supervisor", plan_id, write=True) == 200


def test_a_late_assignment_or_team_event_never_undoes_a_newer_one(planning: PlanningApi) -> None:
    """Competing consumers and retries deliver out of order: the newest version wins."""
    ids = planning.new_episode(unmet=["housing"])  # cm-1 of sup-1
    plan_id = ids["plan_id"]

    def assigned(case_manager: str, supervisor: str, care_version: int) -> None:
        planning.deliver(
            "intake.case.assigned.v1",
            {
                **{k: ids[k] for k in ("client_id", "client_reference", "episode_id")},
                "case_manager_id": case_manager,
                "supervisor_id": supervisor,
                "assigned_by": "iw-1",
                "method": "explicit",
                "over_cap": False,
                "assigned_at": datetime.now(UTC),
                "care_version": care_version,
                "case_manager_version": 1,
            },
        )

    def team(case_manager: str, supervisor: str, version: int) -> None:
        planning.deliver(
            "intake.case_manager.updated.v1",
            {
                "client_id": ids["client_id"],  # only names the envelope's subject here
                "case_manager_id": case_manager,
                "team": "north",
                "supervisor_id": supervisor,
                "caseload_cap": 50,
                "active": True,
                "version": version,
                "updated_at": datetime.now(UTC),
            },
        )

    assigned("cm-3", "sup-1", care_version=3)
    assigned("cm-2", "sup-1", care_version=2)  # late: an earlier reassignment
    team("cm-3", "sup-3", version=3)
    team("cm-3", "sup-2", version=2)  # late: an earlier move
    team("cm-3", "sup-3", version=3)  # repeated
    owner = ("cm-3", "case_manager")
    assert planning.call("GET", f"/plans/{plan_id}", as_=owner).status_code == 200
    assert (
        planning.call("GET", f"/plans/{plan_id}", as_=("cm-2", "case_manager")).status_code == 404
    )
    assert planning.call("GET", f"/plans/{plan_id}", as_=("sup-3", "supervisor")).status_code == 200
    for stale in ("sup-1", "sup-2"):
        assert (
            planning.call("GET", f"/plans/{plan_id}", as_=(stale, "supervisor")).status_code == 404
        )
    # an assignment that names the supervisor of an older team version takes the newer one held
    assigned("cm-3", "sup-1", care_version=4)
    assert planning.call("GET", f"/plans/{plan_id}", as_=("sup-3", "supervisor")).status_code == 200
