"""Per-request / per-message context carried into logs and into the events a unit of work publishes."""

from __future__ import annotations

from contextvars import ContextVar

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
causation_id: ContextVar[str | None] = ContextVar("causation_id", default=None)
traceparent: ContextVar[str | None] = ContextVar("traceparent", default=None)
actor: ContextVar[str | None] = ContextVar("actor", default=None)
#: Why a client record is touched in this request (``X-Purpose``, else the operation's name).
purpose: ContextVar[str | None] = ContextVar("purpose", default=None)
