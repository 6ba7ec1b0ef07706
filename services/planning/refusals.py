"""The one table of planning's domain errors as refusals: the web layer applies it to every view,
so no use case catches a domain error only to re-raise it as an HTTP-shaped one."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from services.planning.casework_domain import (
    IllegalAppointmentMove,
)
from services.planning.domain import (
    ApprovalRefused,
    IllegalTransition,
)
from shared.errors import CasehubError, Conflict


def _illegal_transition(error: IllegalTransition) -> CasehubError:
    return Conflict(str(error), current_status=str(error.current), allowed=error.allowed)


def _approval_refused(error: ApprovalRefused) -> CasehubError:
    return Conflict(str(error), reasons=error.reasons)  # each reason in the words too


def _illegal_appointment_move(error: IllegalAppointmentMove) -> CasehubError:
    return Conflict(str(error), current_status=str(error.current), allowed=error.allowed)


REFUSALS: Mapping[type[Exception], Callable[[Any], CasehubError]] = MappingProxyType(
    {
        IllegalTransition: _illegal_transition,
        ApprovalRefused: _approval_refused,
        IllegalAppointmentMove: _illegal_appointment_move,
    }
)
