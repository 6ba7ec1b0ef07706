"""The one table of referrals' domain errors as refusals (applied by the web layer to every view)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from services.referrals.domain import TransitionRefused
from shared.errors import CasehubError, Conflict, Forbidden, Unprocessable


def _transition_refused(error: TransitionRefused) -> CasehubError:
    if error.field is not None:  # an allowed move, asked without what it needs
        return Unprocessable(
            error.field, str(error), current_status=error.current, allowed=error.allowed
        )
    refusal = Forbidden if error.forbidden else Conflict
    return refusal(str(error), current_status=error.current, allowed=error.allowed)


REFUSALS: Mapping[type[Exception], Callable[[Any], CasehubError]] = MappingProxyType(
    {TransitionRefused: _transition_refused}
)
