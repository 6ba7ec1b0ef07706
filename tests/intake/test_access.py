"""The access matrix: every endpoint x every kind of caller, and the audit trail of reads."""

from __future__ import annotations

from typing import Any

import pytest

from tests.intake.conftest import SUPERVISOR, IntakeApi

CALLERS: dict[str, tuple[str, ...]] = {
    "registering intake worker": ("iw-1", "intake_worker"),
    "other intake worker": ("iw-2", "intake_worker"),
    "assigned case manager": ("cm-1", "case_manager"),
    "other case manager": ("cm-2", "case_manager"),
    "team supervisor": (SUPERVISOR, "supervisor"),
    "other supervisor": ("sup-2", "supervisor"),
    "admin": ("admin-1", "admin"),
    "partner": ("partner-1", "partner"),
}
OK, FORBIDDEN, HIDDEN = "ok", 403, 404
STAFF_WHO_SEE = {
    "registering intake worker": OK,
    "other intake worker": HIDDEN,
    "assigned case manager": OK,
    "other case manager": HIDDEN,
    "team supervisor": OK,
    "other supervisor": HIDDEN,
    "admin": OK,
    "partner": FORBIDDEN,
}
NEEDS = {"domains": {"housing": {"rating": "unmet_need"}}}


def _matrix(**overrides: Any) -> dict[str, Any]:
    return {**STAFF_WHO_SEE, **overrides}


# (name, method, path, body, expected per caller); {c} client, {f} risk flag, {k} consent
ENDPOINTS: list[tuple[str, str, str, Any, dict[str, Any]]] = [
    ("read client", "GET", "/clients/{c}", None, _matrix()),
    ("update client", "PATCH", "/clients/{c}", {"preferred_language": "Polish"}, _matrix()),
    (
        "search clients",
        "GET",
        "/clients",
        None,
        _matrix(**{"other intake worker": OK, "other case manager": OK, "other supervisor": OK}),
    ),
    (
        "register client",
        "POST",
        "/clients",
        {"given_name": "N", "family_name": "P", "date_of_birth": "2000-01-01"},
        _matrix(
            **{
                "other intake worker": OK,
                "assigned case manager": FORBIDDEN,
                "other case manager": FORBIDDEN,
                "other supervisor": OK,
            }
        ),
    ),
    (
        "discharge",
        "POST",
        "/clients/{c}/discharge",
        {"reason_code": "other"},
        _matrix(**{"registering intake worker": FORBIDDEN, "other intake worker": FORBIDDEN}),
    ),
    (
        "readmit",
        "POST",
        "/clients/{c}/readmit",
        None,
        _matrix(**{"assigned case manager": FORBIDDEN, "other case manager": FORBIDDEN}),
    ),
    (
        "add nominated person",
        "POST",
        "/clients/{c}/nominated-persons",
        {"name": "Jo", "relationship_to_client": "carer"},
        _matrix(),
    ),
    (
        "grant consent",
        "POST",
        "/clients/{c}/consents",
        {"organization_id": "o", "categories": ["diagnosis"], "starts_on": "2026-01-01"},
        _matrix(),
    ),
    ("list consents", "GET", "/clients/{c}/consents", None, _matrix()),
    ("read the client record", "GET", "/clients/{c}/record", None, _matrix()),
    ("revoke consent", "POST", "/clients/{c}/consents/{k}/revoke", {"reason": "asked"}, _matrix()),
    ("record assessment", "POST", "/clients/{c}/assessments", NEEDS, _matrix()),
    ("list assessments", "GET", "/clients/{c}/assessments", None, _matrix()),
    ("list risk flags", "GET", "/clients/{c}/risk-flags", None, _matrix()),
    (
        "resolve risk flag",
        "POST",
        "/clients/{c}/risk-flags/{f}/resolve",
        {"note": "ok"},
        _matrix(
            **{
                "registering intake worker": FORBIDDEN,
                "other intake worker": FORBIDDEN,
                "admin": FORBIDDEN,
            }
        ),
    ),
    (
        "assign",
        "POST",
        "/clients/{c}/assignment",
        {"case_manager_id": "cm-2"},
        _matrix(**{"assigned case manager": FORBIDDEN, "other case manager": FORBIDDEN}),
    ),
    (
        "team view",
        "GET",
        "/case-managers",
        None,
        {
            **{name: FORBIDDEN for name in CALLERS},
            "registering intake worker": OK,  # intake assigns: every team, counts only
            "other intake worker": OK,
            "team supervisor": OK,
            "other supervisor": OK,
            "admin": OK,
        },
    ),
    (
        "add a case manager (admins only: unknown to a supervisor)",
        "PUT",
        "/case-managers/cm-9",
        {"display_name": "New", "team": "north", "supervisor_id": SUPERVISOR},
        {
            **{name: FORBIDDEN for name in CALLERS},
            "team supervisor": HIDDEN,
            "other supervisor": HIDDEN,
            "admin": OK,
        },
    ),
    (
        "change a case manager (their supervisor or an admin)",
        "PUT",
        "/case-managers/cm-1",
        {"display_name": "CM 1", "team": "north", "supervisor_id": SUPERVISOR, "caseload_cap": 40},
        {
            **{name: FORBIDDEN for name in CALLERS},
            "team supervisor": OK,
            "other supervisor": HIDDEN,
            "admin": OK,
        },
    ),
    (
        "caseload",
        "GET",
        "/case-managers/cm-1/caseload",
        None,
        {**STAFF_WHO_SEE, "registering intake worker": FORBIDDEN, "other intake worker": FORBIDDEN},
    ),
    ("audit log", "GET", "/audit", None, {**{name: FORBIDDEN for name in CALLERS}, "admin": OK}),
]


def _world(intake: IntakeApi) -> dict[str, str]:
    """A client registered by iw-1, assigned to cm-1 of sup-1's team, with a consent and a risk flag."""
    client = intake.register(confirmed_not_duplicate=True)
    assert intake.assign(client["id"], "cm-1").status_code == 201
    flag = intake.call(
        "POST",
        f"/clients/{client['id']}/assessments",
        json_body={**NEEDS, "phq9": {"items": [0, 0, 0, 0, 0, 0, 0, 0, 1]}},
    ).json["risk_flag_id"]
    consent = intake.call(
        "POST",
        f"/clients/{client['id']}/consents",
        json_body={"organization_id": "o", "categories": ["diagnosis"], "starts_on": "2026-01-01"},
    ).json["id"]
    return {"c": client["id"], "f": flag, "k": consent}


@pytest.mark.parametrize(
    ("name", "method", "path", "body", "expected"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS]
)
def test_access_matrix(
    intake: IntakeApi, name: str, method: str, path: str, body: Any, expected: dict[str, Any]
) -> None:
    intake.case_manager("cm-1")
    intake.case_manager("cm-2", supervisor="sup-2")
    outcomes = {}
    for caller, identity in CALLERS.items():
        ids = _world(intake)
        response = intake.call(method, path.format(**ids), as_=identity, json_body=body)
        status = response.status_code
        outcomes[caller] = OK if status < 400 or status in (409, 422) else status
        if status >= 400:
            assert response.content_type == "application/problem+json"
    assert outcomes == expected
    anonymous = intake.call(method, path.format(**_world(intake)), as_=None, json_body=body)
    assert anonymous.status_code == 401 and "WWW-Authenticate" in anonymous.headers


def test_every_read_and_change_of_a_client_record_is_audited(intake: IntakeApi) -> None:
    intake.case_manager("cm-1")
    client = intake.register()
    intake.assign(client["id"], "cm-1")
    intake.call("GET", f"/clients/{client['id']}", as_=("cm-1", "case_manager"))
    intake.call(
        "PATCH",
        f"/clients/{client['id']}",
        as_=("cm-1", "case_manager"),
        json_body={"preferred_language": "Welsh"},
    )
    intake.call(
        "GET", f"/clients/{client['id']}", as_=("cm-2", "case_manager")
    )  # not theirs: 404, nothing read, the refused attempt kept
    entries = intake.call(
        "GET", "/audit", as_=("admin-1", "admin"), query={"client_id": client["id"]}
    ).json["items"]
    assert [(e["actor"], e["action"], e["entity"]) for e in entries] == [
        ("iw-1", "register", "client"),
        ("iw-1", "assign", "episode"),
        ("cm-1", "read", "client"),
        ("cm-1", "update", "client"),
        ("cm-2", "access.refused", "client"),
    ]
    assert entries[4]["detail"]["status"] == 404
    assert entries[3]["roles"] == ["case_manager"] and entries[3]["detail"] == {
        "fields": ["preferred_language"]
    }
    assert all(entry["correlation_id"] for entry in entries)
    assert "Welsh" not in str(entries)
