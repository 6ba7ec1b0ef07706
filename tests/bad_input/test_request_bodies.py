"""Every operation that takes a JSON body, in every service (read from its OpenAPI document, so
none is missed), refuses a body it cannot use with a clear problem+json 4xx, and writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from shared.config import Settings
from shared.service import ServiceRuntime
from tests.bad_input.conftest import SeededService

PROBLEM = "application/problem+json"
UNKNOWN_FIELD = "not_a_field_of_ours"
CONFIGURED_LIMIT = 4096


@dataclass(frozen=True)
class BodyOperation:
    """One operation with a request body, aimed at a seeded record, sent by a role it allows."""

    method: str
    path: str
    role: str
    example: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def body_operations(service: SeededService) -> list[BodyOperation]:
    found = []
    for template, item in service.openapi["paths"].items():
        for method, operation in item.items():
            if (
                "requestBody" not in operation
                or "application/json" not in (operation["requestBody"]["content"])
            ):
                # none, or the FHIR API's own (fhir+json, json-patch): tests/partners tries those
                continue
            path = template
            for name, record_id in service.records.items():
                path = path.replace(f"{{{name}}}", record_id)
            role = next(r for r in operation["x-required-roles"] if r in service.callers)
            example = operation["requestBody"]["content"]["application/json"]["example"]
            found.append(BodyOperation(method.upper(), path, role, example))
    return found


@dataclass(frozen=True)
class BadBody:
    """A kind of body no operation can use, and the status that says why."""

    content_type: str
    status: int
    payload: Callable[[BodyOperation], bytes]


BAD_BODIES = {
    "malformed JSON": BadBody(
        "application/json", 400, lambda op: json.dumps(op.example)[:-1].encode()
    ),
    "plain text": BadBody("text/plain", 415, lambda op: b"status=accepted"),
    "form-encoded": BadBody("application/x-www-form-urlencoded", 415, lambda op: b"note=hello"),
    "an unknown field": BadBody(
        "application/json", 422, lambda op: json.dumps({**op.example, UNKNOWN_FIELD: 1}).encode()
    ),
}


def _first_text_field(value: Any, name: str = "") -> str | None:
    """The dotted name of the first string in an example body (e.g. ``warning_signs.0``)."""
    if isinstance(value, str):
        return name
    if isinstance(value, dict | list):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            found = _first_text_field(item, f"{name}.{key}" if name else str(key))
            if found:
                return found
    return None


def _with_nul_at(value: Any, field: str) -> Any:
    head, _, rest = field.partition(".")
    if isinstance(value, list):
        index = int(head)
        changed = _with_nul_at(value[index], rest) if rest else "Al\x00ex"
        return [*value[:index], changed, *value[index + 1 :]]
    return {**value, head: _with_nul_at(value[head], rest) if rest else "Al\x00ex"}


def _send(service: SeededService, http: Any, op: BodyOperation, body: bytes, kind: str) -> Any:
    return http.open(
        op.path,
        method=op.method,
        data=body,
        content_type=kind,
        headers=service.auth_headers(op.role),
    )


def _problem_mismatch(response: Any, status: int) -> str | None:
    if response.status_code != status or response.mimetype != PROBLEM:
        return (
            f"{response.status_code} {response.mimetype}: {response.get_data(as_text=True)[:200]}"
        )
    if response.json["status"] != status:
        return f"problem says status {response.json['status']}"
    return None


def _nul_mismatches(service: SeededService) -> Iterator[str]:
    """PostgreSQL cannot store U+0000 in text: it was a 500 there and silently stored on SQLite."""
    for op in body_operations(service):
        field = _first_text_field(op.example)
        if field is None:
            continue
        body = json.dumps(_with_nul_at(op.example, field)).encode()
        response = _send(service, service.api.http, op, body, "application/json")
        mismatch = _problem_mismatch(response, 422)
        if mismatch is None and list(response.json["errors"]["json"]) != [field]:
            mismatch = f"errors {response.json['errors']}"
        if mismatch:
            yield f"{op.label} with NUL in {field}: {mismatch}"
    audit = service.api.http.get(
        "/audit", query_string={"actor": "admin\x00"}, headers=service.auth_headers("admin")
    )
    mismatch = _problem_mismatch(audit, 422)
    if mismatch or list(audit.json["errors"]["query"]) != ["actor"]:
        yield f"GET /audit with NUL in actor: {mismatch or audit.json['errors']}"


def test_every_body_operation_refuses_bodies_it_cannot_use_with_a_problem_and_writes_nothing(
    service: SeededService,
) -> None:
    """Malformed JSON is a 400, a body in another format a 415, an unknown field or a NUL
    character a 422 naming the field (also NUL in a query parameter)."""
    operations = body_operations(service)
    # reporting only reads (figures, its audit trail); its NUL-in-query check still runs below
    assert operations or service.name == "reporting", "every service takes at least one body"
    rows_before = service.row_counts()
    wrong: list[str] = []
    for op in operations:
        for name, bad in BAD_BODIES.items():
            response = _send(service, service.api.http, op, bad.payload(op), bad.content_type)
            mismatch = _problem_mismatch(response, bad.status)
            if mismatch is None and bad.status == 422:
                errors = response.json["errors"]["json"]
                mismatch = None if list(errors) == [UNKNOWN_FIELD] else f"errors {errors}"
            if mismatch:
                wrong.append(f"{op.label} with {name}: {mismatch}")
    wrong.extend(_nul_mismatches(service))
    assert wrong == []
    assert service.row_counts() == rows_before


def test_a_body_over_the_limit_set_in_the_environment_is_a_413_problem_and_writes_nothing(
    service: SeededService,
) -> None:
    running = service.api.runtime
    name = service.name
    settings = Settings.from_env(
        name,
        {
            "CASEHUB_DATA_DIR": str(running.settings.data_dir),
            f"{name.upper()}_DATABASE_URL": running.settings.database_url,
            "CASEHUB_MAX_CONTENT_LENGTH": str(CONFIGURED_LIMIT),
        },
    )
    assert settings.max_content_length == CONFIGURED_LIMIT
    http = ServiceRuntime(running.spec, settings, running.topology).create_app().test_client()
    rows_before = service.row_counts()
    wrong: list[str] = []
    for op in body_operations(service):
        padded = {**op.example, "padding": "x" * CONFIGURED_LIMIT}
        response = _send(service, http, op, json.dumps(padded).encode(), "application/json")
        mismatch = _problem_mismatch(response, 413)
        if mismatch:
            wrong.append(f"{op.label}: {mismatch}")
    assert wrong == []
    assert service.row_counts() == rows_before
