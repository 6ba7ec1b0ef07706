"""An episode's programme: stated at registration or assignment, carried on the client events
(an optional field, so consumers of v1 events without it still read them)."""

from __future__ import annotations

from shared.contracts import REGISTRY
from tests.intake.conftest import IntakeApi


def test_programme_is_set_at_registration_and_changed_at_assignment(intake: IntakeApi) -> None:
    intake.case_manager("cm-1")
    client = intake.register(programme="housing-first")
    assert client["episodes"][0]["programme"] == "housing-first"
    [registered] = intake.events("client.registered.v1")
    assert registered["data"]["programme"] == "housing-first"

    moved = intake.call(
        "POST",
        f"/clients/{client['id']}/assignment",
        json_body={"case_manager_id": "cm-1", "programme": "act-team"},
    )
    assert moved.status_code == 201, moved.json
    [assigned] = intake.events("case.assigned.v1")
    assert assigned["data"]["programme"] == "act-team"
    shown = intake.call("GET", f"/clients/{client['id']}").json
    assert shown["episodes"][0]["programme"] == "act-team"


def test_a_client_without_a_programme_says_so_and_old_events_still_validate(
    intake: IntakeApi,
) -> None:
    client = intake.register()
    assert client["episodes"][0]["programme"] is None
    [registered] = intake.events("client.registered.v1")
    assert registered["data"]["programme"] is None
    older = {k: v for k, v in registered["data"].items() if k != "programme"}
    assert REGISTRY.validate(registered["type"], older)["programme"] is None


def test_an_empty_programme_is_refused(intake: IntakeApi) -> None:
    response = intake.call(
        "POST",
        "/clients",
        json_body={
            "given_name": "A",
            "family_name": "B",
            "date_of_birth": "1990-01-01",
            "programme": "",
        },
    )
    assert response.status_code == 422
    assert "programme" in response.json["errors"]["json"]
