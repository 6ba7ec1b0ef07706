"""JSON log lines on stdout for every process, so one log pipeline reads all services alike."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from shared import context

_HANDLER_MARK = "_casehub_json_handler"
_ADOPTED_LOGGERS = ("gunicorn.error", "gunicorn.access")


def add_context_ids(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Carry the correlation and causation ids of the current request or message, and the
    current trace and span ids, into the line."""
    from shared.tracing import trace_ids

    for key, value in trace_ids().items():
        event_dict.setdefault(key, value)
    for key, var in (
        ("correlation_id", context.correlation_id),
        ("causation_id", context.causation_id),
    ):
        value = var.get()
        if value is not None:
            event_dict.setdefault(key, value)
    return event_dict


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stdout is now (like logging's own last-resort stderr handler)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> Any:  # type: ignore[override]
        return sys.stdout


def _service_stamp(service: str) -> Processor:
    def add_service(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    return add_service


def configure_logging(service: str, level: str = "INFO") -> None:
    """Render structlog and stdlib records (gunicorn, kombu, SQLAlchemy) as one JSON line each.

    Safe to call again: the previous handler is replaced, never duplicated.
    """
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        add_context_ids,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
    ]
    structlog.configure(
        # A line below the level is dropped first, before the others build it (every request's
        # access line did all that work at WARNING only to be thrown away).
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            _service_stamp(service),
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = _StdoutHandler()
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_MARK, True)

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in _ADOPTED_LOGGERS:
        adopted = logging.getLogger(name)
        adopted.handlers.clear()
        adopted.propagate = True


def get_logger(name: str, **initial: Any) -> structlog.stdlib.BoundLogger:
    """A structlog logger named like a stdlib one, so levels can be tuned per module."""
    return structlog.stdlib.get_logger(name, **initial)
