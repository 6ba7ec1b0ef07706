"""The one table of intake's domain errors as refusals (applied by the web layer to every view)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from services.intake.domain import AssessmentItemError, CaseloadFull, NoCaseManagerAvailable
from shared.errors import CasehubError, Conflict, Unprocessable


def _unacceptable_answer(error: AssessmentItemError) -> CasehubError:
    return Unprocessable(error.field, error.message)


def _over_the_cap(error: CaseloadFull) -> CasehubError:
    return Conflict(
        str(error),
        case_manager_id=error.case_manager_id,
        caseload_cap=error.cap,
        active_clients=error.active_clients,
        override="a supervisor may assign over the cap with an override_reason",
    )


def _team_full(error: NoCaseManagerAvailable) -> CasehubError:
    return Conflict(str(error), team=error.team_name)


REFUSALS: Mapping[type[Exception], Callable[[Any], CasehubError]] = MappingProxyType(
    {
        AssessmentItemError: _unacceptable_answer,
        CaseloadFull: _over_the_cap,
        NoCaseManagerAvailable: _team_full,
    }
)
