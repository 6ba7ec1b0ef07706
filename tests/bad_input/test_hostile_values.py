"""Values a fuzzer or an attacker sends that once ended in a 500 (issue 14, item 5): each is now
a problem+json 4xx that writes nothing, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.bad_input.conftest import SeededService
from tests.bad_input.test_request_bodies import body_operations

PROBLEM = "application/problem+json"


def _assert_refused(response: Any, *statuses: int) -> None:
    assert response.status_code in statuses, (response.status_code, response.get_data(True))
    assert response.mimetype == PROBLEM
    assert response.json["status"] == response.status_code


def _records(service: SeededService) -> dict[str, int]:
    """Row counts but the audit trail's: a refused attempt on a client's record is audited."""
    return {table: rows for table, rows in service.row_counts().items() if table != "audit_log"}


def _cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


def test_a_lone_surrogate_in_a_json_string_is_refused(service: SeededService) -> None:
    before = service.row_counts()
    for operation in body_operations(service):
        text_fields = [k for k, v in operation.example.items() if isinstance(v, str)]
        body = json.dumps({**operation.example, **dict.fromkeys(text_fields, "\ud800")})
        body = body if text_fields else '{"note": "\\ud800"}'
        response = service.api.http.open(
            operation.path,
            method=operation.method,
            data=body,
            content_type="application/json",
            headers=service.auth_headers(operation.role),
        )
        _assert_refused(response, 400, 404, 409, 422)
    assert service.row_counts() == before


def test_json_nested_a_thousand_levels_is_a_400(service: SeededService) -> None:
    before = service.row_counts()
    deep = "[" * 1000 + "]" * 1000
    for operation in body_operations(service):
        for body in (deep, '{"note": ' + deep + "}"):
            response = service.api.http.open(
                operation.path,
                method=operation.method,
                data=body,
                content_type="application/json",
                headers=service.auth_headers(operation.role),
            )
            _assert_refused(response, 400, 404)
    assert service.row_counts() == before


def _list_paths(service: SeededService) -> list[tuple[str, str]]:
    found = []
    for template, item in service.openapi["paths"].items():
        get = item.get("get")
        names = {p.get("name") for p in (get or {}).get("parameters", []) if isinstance(p, dict)}
        if get and "cursor" in names:
            path = template
            for name, record_id in service.records.items():
                path = path.replace(f"{{{name}}}", record_id)
            role = next(r for r in get["x-required-roles"] if r in service.callers)
            found.append((path, role))
    return found


@pytest.mark.parametrize(
    "cursor",
    [
        _cursor(2**70),
        _cursor(10**20 - 1),
        _cursor("2026-01-01T00:00:00+00:00", 2**70),
        _cursor(99999999999999999999, "x"),
        str(2**70),
        "9" * 20,
        "²",
    ],
)
def test_a_cursor_holding_a_huge_number_is_a_422(service: SeededService, cursor: str) -> None:
    paths = _list_paths(service)
    assert paths
    for path, role in paths:
        response = service.api.http.get(
            path, query_string={"cursor": cursor}, headers=service.auth_headers(role)
        )
        _assert_refused(response, 422)


@pytest.mark.parametrize("service", ["referrals"], indirect=True)  # the partner feed is referrals'
@pytest.mark.parametrize("after", [str(2**70), "9" * 20, "²", "١٢", "x"])
def test_the_partner_feed_refuses_a_position_it_never_returned(
    service: SeededService, after: str
) -> None:
    for key in ("after", "cursor"):
        response = service.api.http.get(
            "/partner/events", query_string={key: after}, headers=service.auth_headers("partner")
        )
        _assert_refused(response, 422)


def test_a_token_subject_longer_than_any_we_store_is_a_401(service: SeededService) -> None:
    before = _records(service)
    token = service.api.token("s" * 129, "admin", "supervisor", "case_manager", "intake_worker")
    for operation in body_operations(service):
        response = service.api.http.open(
            operation.path,
            method=operation.method,
            json=operation.example,
            headers={"Authorization": f"Bearer {token}"},
        )
        _assert_refused(response, 401)
    assert _records(service) == before


def test_an_identifier_longer_than_any_we_store_is_a_404(service: SeededService) -> None:
    before = _records(service)
    long_id = "c" * 300
    for operation in body_operations(service):
        template = next(
            t
            for t, item in service.openapi["paths"].items()
            if operation.method.lower() in item and _fill(t, service.records) == operation.path
        )
        if "{" not in template:
            continue
        path = _fill(template, dict.fromkeys(service.records, long_id))
        response = service.api.http.open(
            path,
            method=operation.method,
            json=operation.example,
            headers=service.auth_headers(operation.role),
        )
        _assert_refused(response, 404)
    if service.name == "intake":
        response = service.api.http.put(
            f"/case-managers/{long_id}",
            json={"display_name": "Long", "team": "north", "caseload_cap": 5},
            headers=service.auth_headers("admin"),
        )
        _assert_refused(response, 404)
    assert _records(service) == before


def _fill(template: str, records: dict[str, str]) -> str:
    for name, record_id in records.items():
        template = template.replace(f"{{{name}}}", record_id)
    return template
