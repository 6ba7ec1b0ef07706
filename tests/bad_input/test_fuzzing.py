"""schemathesis drives every operation of every service's OpenAPI document, with valid callers:
no answer is a 5xx, every status code is one the operation documents (under its own code, not
only `default`), and every body matches the documented schema and content type.

Valid and invalid requests (schema-conforming data, then schemathesis' negative data: wrong
types, missing fields, bytes that are not JSON) are generated with fixed seeds, so a CI failure
reproduces locally. Most cases name records that exist, so the fuzzer reaches past the 404s.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
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
#: mostly find it still open.
ENDING_SUFFIXES = ("/close", "/discharge", "/revoke")


@dataclass
class FuzzFigures:
    """What one service's run generated and found, for the suite's summary and for triage."""

    operations: int = 0
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    succeeded: set[str] = field(default_factory=set)
    failures: dict[tuple[str, int, str], str] = field(default_factory=dict)

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)

    def summary(self) -> str:
        return (
            f"{self.operations} operations ({len(self.succeeded)} answered 2xx), "
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


def _fuzz(
    service: SeededService,
    operation: Any,
    mode: GenerationMode,
    max_examples: int,
    figures: FuzzFigures,
) -> None:
    definition = operation.definition.raw
    documented = {str(code) for code in definition["responses"] if code != "default"}
    names = [parameter.name for parameter in operation.path_parameters]
    known = [
        {name: records[name] for name in names if name in records}
        for records in service.record_sets
    ]
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
            case.path_parameters = {**(case.path_parameters or {}), **existing}
        headers = {
            name: value
            for name, value in (case.headers or {}).items()
            if name.lower() not in ("authorization", "x-api-key")
        }
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


@pytest.mark.slow
def test_every_operation_answers_as_documented_and_never_with_a_server_error(
    service: SeededService,
    backend: Backend,
    record_property: Callable[[str, object], None],
) -> None:
    spec = service.openapi
    schema = schemathesis.openapi.from_wsgi("/openapi.json", service.api.http.application)
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()),
        key=lambda operation: (
            operation.path.endswith(ENDING_SUFFIXES),
            operation.method == "delete",
        ),
    )
    assert len(operations) == sum(
        method in HTTP_METHODS for item in spec["paths"].values() for method in item
    )
    figures = FIGURES[f"{service.name} on {backend.kind}"] = FuzzFigures(operations=len(operations))
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
    assert figures.cases >= len(operations) * sum(examples.values()) // 2
