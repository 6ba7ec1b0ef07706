"""Logs never carry client names, assessment answers or credentials."""

from __future__ import annotations

import pytest

from tests.intake.conftest import IntakeApi


def test_logs_contain_no_client_names_answers_or_tokens(
    intake: IntakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    intake.case_manager("cm-1")
    client = intake.register("Zebediah", "Quixote-Marchbanks", contact={"phone": "555-0199"})
    intake.assign(client["id"], "cm-1")
    intake.call(
        "PATCH", f"/clients/{client['id']}", json_body={"advance_statement": "No lorazepam please"}
    )
    intake.call(
        "POST",
        f"/clients/{client['id']}/assessments",
        as_=("cm-1", "case_manager"),
        json_body={
            "domains": {"housing": {"rating": "unmet_need", "notes": "sleeping in a stairwell"}},
            "phq9": {"items": [3, 3, 3, 3, 3, 3, 3, 3, 3]},
        },
    )
    intake.call("GET", "/clients", query={"name": "Quixote"})
    intake.call(
        "POST", "/clients", json_body={"given_name": "Zebediah", "date_of_birth": "not a date"}
    )
    logs = capsys.readouterr()
    text = logs.out + logs.err
    assert "http_request" in text  # the access log did run
    for secret in (
        "Zebediah",
        "Quixote",
        "555-0199",
        "lorazepam",
        "stairwell",
        *intake.tokens.values(),
    ):
        assert secret not in text, secret
