"""schemathesis against notifications' and reporting's OpenAPI documents (tests/bad_input/fuzzing.py)."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

from shared.config import SERVICE_NAMES
from tests.bad_input.conftest import SeededService
from tests.bad_input.fuzzing import every_operation_answers_as_documented
from tests.support.backends import Backend


@pytest.mark.slow
@pytest.mark.parametrize("service", ["notifications", "reporting"], indirect=True)
def test_every_operation_answers_as_documented_and_never_with_a_server_error(
    service: SeededService,
    backend: Backend,
    record_property: Callable[[str, object], None],
) -> None:
    every_operation_answers_as_documented(service, backend, record_property)


def test_every_service_is_fuzzed_by_one_of_the_files() -> None:
    """A new service needs a line in one of the test_fuzzing_*.py files, or it goes unfuzzed."""
    fuzzed = []
    for path in Path(__file__).parent.glob("test_fuzzing_*.py"):
        for line in path.read_text().splitlines():
            if line.startswith('@pytest.mark.parametrize("service", '):
                fuzzed += ast.literal_eval(line.split(", ", 1)[1].rsplit(", indirect", 1)[0])
    assert sorted(fuzzed) == sorted(SERVICE_NAMES)
