"""Case managers: only admins add them; a change of team, supervisor, cap or active is announced
to every service (without names); a deactivated case manager loses their clients' records."""

from __future__ import annotations

from typing import Any

from tests.intake.conftest import OTHER_SUPERVISOR, SUPERVISOR, IntakeApi

ADMIN = ("admin-1", "admin")


def _save(intake: IntakeApi, cm_id: str, as_: tuple[str, ...], **values: Any) -> Any:
    body = {"display_name": "Dana Okafor", "team": "north", "supervisor_id": SUPERVISOR, **values}
    return intake.call("PUT", f"/case-managers/{cm_id}", as_=as_, json_body=body)


def test_a_supervisor_naming_an_unknown_case_manager_gets_404_and_nothing_is_created(
    intake: IntakeApi,
) -> None:
    response = _save(intake, "cm-new", (SUPERVISOR, "supervisor"))
    assert response.status_code == 404 and response.content_type == "application/problem+json"
    assert intake.call("GET", "/case-managers", as_=ADMIN).json["items"] == []
    assert intake.events("case_manager.updated.v1") == []
    assert _save(intake, "cm-new", ADMIN).status_code == 200


def test_a_supervisor_changes_only_their_own_team(intake: IntakeApi) -> None:
    intake.case_manager("cm-1")
    other = (OTHER_SUPERVISOR, "supervisor")
    assert _save(intake, "cm-1", other, supervisor_id=OTHER_SUPERVISOR).status_code == 404
    mine = (SUPERVISOR, "supervisor")
    assert _save(intake, "cm-1", mine, supervisor_id=OTHER_SUPERVISOR).status_code == 403
    assert _save(intake, "cm-1", mine, caseload_cap=30).json["caseload_cap"] == 30


def test_each_change_of_team_cap_or_active_is_announced_once_with_a_rising_version(
    intake: IntakeApi,
) -> None:
    _save(intake, "cm-1", ADMIN)
    _save(intake, "cm-1", (SUPERVISOR, "supervisor"), caseload_cap=30)
    _save(intake, "cm-1", ADMIN, caseload_cap=30, display_name="Dana O.")  # a name only: no event
    _save(intake, "cm-1", ADMIN, caseload_cap=30, team="south", supervisor_id=OTHER_SUPERVISOR)
    _save(intake, "cm-1", ADMIN, team="south", supervisor_id=OTHER_SUPERVISOR, active=False)
    events = intake.events("case_manager.updated.v1")
    assert [
        (e["data"]["version"], e["data"]["supervisor_id"], e["data"]["caseload_cap"])
        for e in events
    ] == [
        (1, SUPERVISOR, 50),
        (2, SUPERVISOR, 30),
        (3, OTHER_SUPERVISOR, 30),
        (4, OTHER_SUPERVISOR, 50),
    ]
    assert events[-1]["subject"] == "case_manager/cm-1"
    assert events[-1]["data"] == {
        "case_manager_id": "cm-1",
        "team": "south",
        "supervisor_id": OTHER_SUPERVISOR,
        "caseload_cap": 50,
        "active": False,
        "version": 4,
        "updated_at": events[-1]["data"]["updated_at"],
    }
    assert "Dana" not in str(events)


def test_assignment_and_discharge_count_the_changes_of_who_carries_the_client(
    intake: IntakeApi,
) -> None:
    intake.case_manager("cm-1")
    intake.case_manager("cm-2", supervisor=OTHER_SUPERVISOR)
    intake.case_manager("cm-2", supervisor=OTHER_SUPERVISOR, cap=40)  # team version 2
    client = intake.register()
    assert intake.assign(client["id"], "cm-1").status_code == 201
    assert intake.assign(client["id"], "cm-2", as_=ADMIN).status_code == 201
    discharged = intake.call(
        "POST",
        f"/clients/{client['id']}/discharge",
        as_=ADMIN,
        json_body={"reason_code": "moved_away"},
    )
    assert discharged.status_code == 200
    assigned = intake.events("case.assigned.v1")
    assert [
        (e["data"]["care_version"], e["data"]["supervisor_id"], e["data"]["case_manager_version"])
        for e in assigned
    ] == [(1, SUPERVISOR, 1), (2, OTHER_SUPERVISOR, 2)]
    [discharge] = intake.events("client.discharged.v1")
    assert discharge["data"]["care_version"] == 3


def test_a_deactivated_case_manager_no_longer_sees_their_clients(intake: IntakeApi) -> None:
    intake.case_manager("cm-1")
    client = intake.register()
    intake.assign(client["id"], "cm-1")
    cm = ("cm-1", "case_manager")
    assert intake.call("GET", f"/clients/{client['id']}", as_=cm).status_code == 200
    _save(intake, "cm-1", (SUPERVISOR, "supervisor"), active=False)
    assert intake.call("GET", f"/clients/{client['id']}", as_=cm).status_code == 404
    assert intake.call("GET", "/case-managers/cm-1/caseload", as_=cm).status_code == 404
    assert intake.call("GET", "/clients", as_=cm).json["items"] == []
    supervisor = (SUPERVISOR, "supervisor")
    assert intake.call("GET", f"/clients/{client['id']}", as_=supervisor).status_code == 200
    assert intake.call("GET", "/case-managers/cm-1/caseload", as_=supervisor).status_code == 200
