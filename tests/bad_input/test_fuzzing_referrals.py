"""schemathesis against referrals' OpenAPI document (tests/bad_input/fuzzing.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.bad_input.conftest import SeededService
from tests.bad_input.fuzzing import every_operation_answers_as_documented
from tests.support.backends import Backend


@pytest.mark.slow
@pytest.mark.parametrize("service", ["referrals"], indirect=True)
def test_every_operation_answers_as_documented_and_never_with_a_server_error(
    service: SeededService,
    backend: Backend,
    record_property: Callable[[str, object], None],
) -> None:
    every_operation_answers_as_documented(service, backend, record_property)
