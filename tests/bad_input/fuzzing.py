"""The fuzzing that the test_fuzzing_*.py files run: schemathesis drives every operation of every service's OpenAPI document, with valid callers:
no answer is a 5xx, every status code is one the operation documents (under its own code, not
only `default`), and every body matches the documented schema and content type.

Valid and invalid requests (schema-conforming data, then schemathesis' negative data: wrong
types, missing fields, bytes that are not JSON) are generated with fixed seeds, so a CI failure
reproduces locally. Most cases name records that exist (in the path, and in the query and body
of valid cases), so the fuzzer reaches past the 404s: every operation must answer 2xx at least
once, or the run proves only that the service refuses what it does not understand.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.bad_input.conftest import SeededService
from tests.support.backends import EMBEDDED, REAL, Backend

#: Cases per operation and generation mode, tuned so all four services on both backends fit
#: CI's time budget; PostgreSQL gets fewer (what it adds is the database's own refusals).
MAX_EXAMPLES = {
    EMBEDDED: {GenerationMode.POSITIVE: 15, GenerationMode.NEGATIVE: 10},
    REAL: {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 6},
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
HTTP_METHODS = ("get", "put", "post", "patch", "delete")
#: Operations that end a seeded record run last (deletions just before them), so the others
#: mostly find it still open. The referrer's own move only cancels or voids a referral, so it
#: waits until the partner has had its turn at accepting, starting and completing.
ENDING_SUFFIXES = ("/close", "/discharge", "/revoke", "/sign", "/end")
ENDING_OPERATIONS = ("POST /referrals/{referral_id}/status",)


def _run_order(operation: Any) -> tuple[bool, bool, int]:
    """Enders last, deletions before them, and a record's parts deleted before the record
    (a goal's strategy before the goal), so each deletion finds what it deletes."""
    deletes = operation.method == "delete"
    ends = operation.path.endswith(ENDING_SUFFIXES) or operation.label in ENDING_OPERATIONS
    return (ends, deletes, -operation.path.count("/") if deletes else 0)


@dataclass
class FuzzFigures:
    """What one service's run generated and found, for the suite's summary and for triage."""

    operations: list[str] = field(default_factory=list)
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    succeeded: set[str] = field(default_factory=set)
    failures: dict[tuple[str, int, str], str] = field(default_factory=dict)

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)

    @property
    def never_succeeded(self) -> list[str]:
        return [label for label in self.operations if label not in self.succeeded]

    def summary(self) -> str:
        never = f", never 2xx: {', '.join(self.never_succeeded)}" if self.never_succeeded else ""
        return (
            f"{len(self.operations)} operations ({len(self.succeeded)} answered 2xx{never}), "
            f"{self.cases} cases, {self.server_errors} server errors, "
            f"{len(self.failures)} distinct failures, statuses {dict(sorted(self.statuses.items()))}"
        )

    def fail(self, label: str, status: int, message: str) -> None:
        title = message.strip().splitlines()[0] if message.strip() else "failed"
        self.failures.setdefault((label, status, title), message)


#: "service on backend" -> figures of its run (its summary reaches the terminal through the
#: test report, so it also arrives from pytest-xdist workers).
FIGURES: dict[str, FuzzFigures] = {}


def _roles_allowed(service: SeededService, definition: dict[str, Any]) -> list[str]:
    required = definition.get("x-required-roles") or list(service.callers)
    return [role for role in required if role in service.callers]


def _name_existing_records(case: Any, existing: dict[str, str], *, positive: bool) -> None:
    """Put ids of seeded records where the operation names them: always in the path (schemathesis
    re-checks a negative case's path values before it counts a 2xx against the service), and in
    the query and the JSON body's top-level fields only of a valid case, so that a negative case
    keeps the invalid value it was generated with."""
    path = case.operation.path_parameters
    case.path_parameters = {
        **(case.path_parameters or {}),
        **{p.name: existing[p.name] for p in path if p.name in existing},
    }
    if not positive:
        return
    query = [p.name for p in case.operation.query if p.name in existing]
    if query:
        case.query = {**(case.query or {}), **{name: existing[name] for name in query}}
    if isinstance(case.body, dict):
        case.body = {
            name: existing.get(name, value) if isinstance(value, str) else value
            for name, value in case.body.items()
        }


def _fuzz(
    service: SeededService,
    operation: Any,
    mode: GenerationMode,
    max_examples: int,
    figures: FuzzFigures,
) -> None:
    definition = operation.definition.raw
    documented = {str(code) for code in definition["responses"] if code != "default"}
    known = [dict(records) for records in service.record_sets_for(operation.label)]
    cases = st.one_of(
        operation.as_strategy(mode),
        *(operation.schema.get_strategies_from_examples(operation) if mode.is_positive else ()),
    )

    @given(
        case=cases,
        role=st.sampled_from(_roles_allowed(service, definition)),
        existing=st.sampled_from([*known, *known, {}]),
        api_key=st.booleans(),
    )
    @settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def exercise(case: Any, role: str, existing: dict[str, str], api_key: bool) -> None:
        if existing:
            _name_existing_records(case, existing, positive=mode.is_positive)
        headers = {
            name: value
            for name, value in (case.headers or {}).items()
            if name.lower() not in ("authorization", "x-api-key")
        }
        if mode.is_positive and any(name.lower() == "idempotency-key" for name in headers):
            # A valid case is a new request: its own key, so it runs rather than replaying or
            # being refused as a reused key (tests/intake/test_idempotent_writes.py covers both).
            headers = {n: v for n, v in headers.items() if n.lower() != "idempotency-key"}
            headers["Idempotency-Key"] = str(uuid.uuid4())
        case.headers = {**headers, **service.auth_headers(role, api_key=api_key)}
        response = case.call()
        figures.cases += 1
        figures.statuses[response.status_code] += 1
        if response.status_code < 300:
            figures.succeeded.add(operation.label)
        if str(response.status_code) not in documented:
            figures.fail(
                operation.label,
                response.status_code,
                f"Undocumented status {response.status_code}\n{response.text[:300]}",
            )
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as failed:
            figures.fail(operation.label, response.status_code, str(failed))

    exercise()


def every_operation_answers_as_documented(
    service: SeededService,
    backend: Backend,
    record_property: Callable[[str, object], None],
) -> None:
    """The whole check for one service on one backend (a test file per service, so pytest-xdist
    runs the services side by side instead of one worker taking every service in turn)."""
    spec = service.openapi
    schema = schemathesis.openapi.from_wsgi("/openapi.json", service.api.http.application)
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=_run_order)
    assert len(operations) == sum(
        method in HTTP_METHODS for item in spec["paths"].values() for method in item
    )
    figures = FIGURES[f"{service.name} on {backend.kind}"] = FuzzFigures(
        operations=[operation.label for operation in operations]
    )
    examples = MAX_EXAMPLES[backend.kind]
    for operation in operations:
        for mode in GenerationMode:
            _fuzz(service, operation, mode, examples[mode], figures)
    record_property("schemathesis", f"{service.name} on {backend.kind}: {figures.summary()}")

    report = "\n\n".join(
        f"{label} -> {status}\n{message}"
        for (label, status, _), message in figures.failures.items()
    )
    assert not figures.failures, f"{len(figures.failures)} distinct failures:\n\n{report}"
    assert figures.server_errors == 0
    assert not figures.never_succeeded, (
        f"never answered 2xx, so never reached past validation: {figures.never_succeeded}"
    )
    assert figures.cases >= len(operations) * sum(examples.values()) // 2
