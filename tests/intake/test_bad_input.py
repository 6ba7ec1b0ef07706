"""Bad input of any shape is a problem+json 4xx, never a 500, and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.intake.conftest import SUPERVISOR, IntakeApi

WEIRD_BODIES: list[Any] = [
    None,
    [],
    "text",
    42,
    True,
    {},
    {"given_name": None},
    {"domains": "housing"},
    {"domains": {"housing": "unmet_need"}},
    {"domains": {"housing": {"rating": "unmet_need"}}, "phq9": {"items": "1"}},
    {"domains": {"housing": {"rating": "unmet_need"}}, "phq9": {"items": [10**30] * 9}},
    {"domains": {"housing": {"rating": "unmet_need"}}, "cssrs": {"wish_to_be_dead": "maybe"}},
    {"case_manager_id": ["cm-1"]},
    {"categories": "diagnosis"},
    {"starts_on": "tomorrow"},
    {"date_of_birth": "1988-02-30"},
    {"given_name": "x" * 10_000},
    {"caseload_cap": -1},
    {"reason_code": 7},
    {"note": ""},
    {"\u0000": "\ud7ff"},
]
ENDPOINTS = [
    ("POST", "/clients"),
    ("PATCH", "/clients/{c}"),
    ("POST", "/clients/{c}/discharge"),
    ("POST", "/clients/{c}/nominated-persons"),
    ("POST", "/clients/{c}/consents"),
    ("POST", "/clients/{c}/assessments"),
    ("POST", "/clients/{c}/assignment"),
    ("PUT", "/case-managers/cm-9"),
    ("POST", "/clients/{c}/risk-flags/{c}/resolve"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_weird_bodies_get_a_4xx_problem_and_write_nothing(
    intake: IntakeApi, method: str, path: str
) -> None:
    client = intake.register()
    events_before = len(intake.events())
    for body in WEIRD_BODIES:
        if method == "PATCH" and body in (None, {}):
            continue  # an empty change is a valid no-op
        response = intake.call(
            method,
            path.format(c=client["id"]),
            as_=(SUPERVISOR, "supervisor", "admin"),
            json_body=body,
        )
        assert 400 <= response.status_code < 500, (body, response.status_code, response.json)
        assert response.content_type == "application/problem+json"
    assert len(intake.events()) == events_before


def test_bad_query_parameters_are_422(intake: IntakeApi) -> None:
    """Raw bodies (malformed, not JSON, oversized) are covered for every service in tests/bad_input."""
    admin = ("admin-1", "admin")
    for query in (
        {"limit": "many"},
        {"limit": 0},
        {"date_of_birth": "yesterday"},
        {"cursor": "%%%"},
    ):
        assert intake.call("GET", "/clients", as_=admin, query=query).status_code == 422, query
