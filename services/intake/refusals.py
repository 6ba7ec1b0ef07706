"""The one table of intake's domain errors as refusals (applied by the web layer to every view)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from services.intake.domain import AssessmentItemError
from shared.errors import CasehubError, Unprocessable


def _unacceptable_answer(error: AssessmentItemError) -> CasehubError:
    return Unprocessable(error.field, error.message)


REFUSALS: Mapping[type[Exception], Callable[[Any], CasehubError]] = MappingProxyType(
    {AssessmentItemError: _unacceptable_answer}
)
