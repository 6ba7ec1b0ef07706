"""Readiness checks, the same for an API process and a worker (no web framework here: the web
layer serves their results on /readyz, the worker on its own probe port)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from shared.logging import get_logger
from shared.metrics import DEPENDENCY_UP

_MAX_REASON_LENGTH = 120
_log = get_logger(__name__)


def _short_reason(error: Exception) -> str:
    """First line only: enough for an operator, without SQL, tracebacks or long driver text."""
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    return text[:_MAX_REASON_LENGTH]


def run_readiness_checks(
    checks: Mapping[str, Callable[[], None]], service: str | None = None
) -> dict[str, str]:
    """Run every check (each raises when its dependency is unreachable); 'ok' or a short reason.

    With ``service``, each result is also the ``casehub_dependency_up`` gauge."""
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
        except Exception as error:
            results[name] = _short_reason(error)
            _log.warning("readiness_check_failed", check=name, reason=results[name])
        else:
            results[name] = "ok"
        if service is not None:
            DEPENDENCY_UP.labels(service, name).set(1 if results[name] == "ok" else 0)
    return results
