"""The care team (other professionals) and the medications the client reports: recorded by
staff who may see the client, ended or changed with the record kept, audited, never shared."""

from __future__ import annotations

from tests.intake.conftest import IntakeApi

PSYCHIATRIST = {
    "role": "psychiatrist",
    "name": "Dr Lena Ortiz",
    "organisation": "Riverside CMHT",
    "phone": "555-0142",
    "email": "l.ortiz@riverside.example",
}


def test_the_care_team_lists_professionals_and_keeps_those_who_left(intake: IntakeApi) -> None:
    client = intake.register()
    added = intake.call("POST", f"/clients/{client['id']}/care-team", json_body=PSYCHIATRIST)
    assert added.status_code == 201, added.json
    gp = intake.call(
        "POST",
        f"/clients/{client['id']}/care-team",
        json_body={"role": "gp", "name": "Dr Amir Patel"},
    )
    assert gp.status_code == 201
    ended = intake.call("POST", f"/clients/{client['id']}/care-team/{gp.json['id']}/end")
    assert ended.status_code == 200 and ended.json["ended_at"] is not None
    again = intake.call("POST", f"/clients/{client['id']}/care-team/{gp.json['id']}/end")
    assert again.status_code == 409
    team = intake.call("GET", f"/clients/{client['id']}/care-team").json["items"]
    assert [(m["role"], m["ended_at"] is None) for m in team] == [
        ("psychiatrist", True),
        ("gp", False),
    ]
    assert team[0]["organisation"] == "Riverside CMHT"
    bad = intake.call(
        "POST",
        f"/clients/{client['id']}/care-team",
        json_body={**PSYCHIATRIST, "role": "prescribing_robot"},
    )
    assert bad.status_code == 422


def test_reported_medications_change_and_stop_as_reported(intake: IntakeApi) -> None:
    client = intake.register()
    reported = intake.call(
        "POST",
        f"/clients/{client['id']}/medications",
        json_body={
            "name": "Sertraline",
            "dose": "50 mg daily",
            "prescriber": "Dr Lena Ortiz",
            "started_on": "2026-09-01",
        },
    )
    assert reported.status_code == 201, reported.json
    path = f"/clients/{client['id']}/medications/{reported.json['id']}"
    changed = intake.call("PATCH", path, json_body={"dose": "100 mg daily"})
    assert changed.status_code == 200 and changed.json["dose"] == "100 mg daily"
    backwards = intake.call("PATCH", path, json_body={"stopped_on": "2026-08-01"})
    assert backwards.status_code == 422
    stopped = intake.call(
        "PATCH", path, json_body={"started_on": "2026-09-01", "stopped_on": "2026-11-20"}
    )
    assert stopped.status_code == 200 and stopped.json["stopped_on"] == "2026-11-20"
    [listed] = intake.call("GET", f"/clients/{client['id']}/medications").json["items"]
    assert listed["name"] == "Sertraline" and listed["recorded_by"] == "iw-1"
    assert intake.events() == [e for e in intake.events() if "Sertraline" not in str(e)]


def test_a_client_you_may_not_see_has_no_care_team_for_you(intake: IntakeApi) -> None:
    client = intake.register()
    for path in ("care-team", "medications"):
        other = intake.call("GET", f"/clients/{client['id']}/{path}", as_=("cm-9", "case_manager"))
        assert other.status_code == 404
    intake.call("POST", f"/clients/{client['id']}/care-team", json_body=PSYCHIATRIST)
    audit = intake.call(
        "GET", "/audit", as_=("admin-1", "admin"), query={"client_id": client["id"]}
    ).json["items"]
    assert "add_professional" in {row["action"] for row in audit}
