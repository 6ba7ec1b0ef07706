"""The client's right to correction: every request is recorded with its outcome; accepted
amends the record, refused attaches the client's statement; never a silent overwrite."""

from __future__ import annotations

from tests.crisis.conftest import high_risk_client
from tests.intake.conftest import IntakeApi

CM, SUP = ("cm-1", "case_manager"), ("sup-1", "supervisor")


def test_an_accepted_correction_amends_the_record_and_a_refused_one_keeps_the_clients_word(
    intake: IntakeApi,
) -> None:
    client = high_risk_client(intake)
    base = f"/clients/{client['id']}/corrections"
    accepted = intake.call(
        "POST",
        base,
        as_=CM,
        json_body={"field": "family_name", "requested_value": "Rivera-Diaz", "reason": "Married"},
    ).json
    refused = intake.call(
        "POST", base, as_=CM, json_body={"field": "date_of_birth", "requested_value": "1989-04-12"}
    ).json
    assert accepted["status"] == refused["status"] == "requested"
    # a case manager may record a request, not decide it
    assert (
        intake.call(
            "POST", f"{base}/{accepted['id']}/decide", as_=CM, json_body={"outcome": "accepted"}
        ).status_code
        == 403
    )
    done = intake.call(
        "POST",
        f"{base}/{accepted['id']}/decide",
        as_=SUP,
        json_body={"outcome": "accepted", "note": "Certificate seen"},
    )
    assert done.status_code == 200, done.json
    assert (
        intake.call("GET", f"/clients/{client['id']}", as_=SUP).json["family_name"] == "Rivera-Diaz"
    )
    assert intake.events("client.updated.v1")[-1]["data"]["changed_fields"] == ["family_name"]
    no_statement = intake.call(
        "POST", f"{base}/{refused['id']}/decide", as_=SUP, json_body={"outcome": "refused"}
    )
    assert no_statement.status_code == 422
    statement = "I was born in 1989; the hospital record is wrong."
    kept = intake.call(
        "POST",
        f"{base}/{refused['id']}/decide",
        as_=SUP,
        json_body={
            "outcome": "refused",
            "note": "Birth certificate says 1988",
            "client_statement": statement,
        },
    )
    assert kept.status_code == 200 and kept.json["client_statement"] == statement
    assert (
        intake.call("GET", f"/clients/{client['id']}", as_=SUP).json["date_of_birth"]
        == "1988-04-12"
    )
    again = intake.call(
        "POST", f"{base}/{refused['id']}/decide", as_=SUP, json_body={"outcome": "accepted"}
    )
    assert again.status_code == 409
    history = intake.call("GET", base, as_=CM).json["items"]
    assert [(c["field"], c["status"]) for c in history] == [
        ("family_name", "accepted"),
        ("date_of_birth", "refused"),
    ]
    assert intake.call("GET", base, as_=("cm-9", "case_manager")).status_code == 404
    trail = intake.call(
        "GET", "/audit", as_=("admin-1", "admin"), query={"client_id": client["id"]}
    ).json["items"]
    decided = [row["detail"] for row in trail if row["action"] == "correction.decide"]
    assert decided == [
        {"field": "family_name", "outcome": "accepted"},
        {"field": "date_of_birth", "outcome": "refused"},
    ]
