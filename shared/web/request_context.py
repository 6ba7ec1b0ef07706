"""X-Request-ID and traceparent per request, so logs and published events share one correlation id;
X-Purpose, so the audit trail says why a client record was read or changed."""

from __future__ import annotations

import re
import time
import uuid
from contextvars import ContextVar, Token

import structlog
from flask import Flask, Response, g, request

from shared import context
from shared.audit import PURPOSE_LENGTH
from shared.logging import get_logger
from shared.tracing import new_traceparent
from shared.web.problems import Problem

REQUEST_ID_HEADER = "X-Request-ID"
PURPOSE_HEADER = "X-Purpose"
#: What an HTTP field value may hold (RFC 9110 §5.5): visible ASCII, spaces and obs-text bytes,
#: which WSGI hands over as ISO-8859-1 characters; so no tab, newline or other control character.
PURPOSE_CHARACTERS = r"[ -~\x80-\xff]"
_PURPOSE = re.compile(rf"{PURPOSE_CHARACTERS}{{1,{PURPOSE_LENGTH}}}")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_TRACEPARENT = re.compile(
    r"(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}"
)
_access_log = get_logger("casehub.access")


def accepted_request_id(value: str | None) -> str:
    """Keep a caller's id when it is safe to log and echo; otherwise mint a fresh one."""
    if value and _REQUEST_ID.fullmatch(value):
        return value
    return str(uuid.uuid4())


def stated_purpose(value: str | None) -> str | None:
    """The caller's reason for the request, if given; never logged, kept in the audit trail.

    Only the spaces and tabs around a field value are not part of it (RFC 9110 §5.5), so those
    alone are dropped; a longer value is refused, never cut, so the trail holds what was said."""
    purpose = (value or "").strip(" \t")
    if not purpose:
        return None
    if not _PURPOSE.fullmatch(purpose):
        raise Problem(
            400,
            detail=(
                f"{PURPOSE_HEADER} must be at most {PURPOSE_LENGTH} printable characters on one "
                "line (no tab or other control character)."
            ),
            errors={
                "headers": {PURPOSE_HEADER: [f"at most {PURPOSE_LENGTH} printable characters"]}
            },
        )
    return purpose


def _enter_request() -> None:
    request_id = accepted_request_id(request.headers.get(REQUEST_ID_HEADER))
    incoming_trace = request.headers.get("traceparent", "").strip().lower()
    # Without one from the caller the request starts its own trace: its log lines and events
    # share a trace id whether or not spans are recorded (a recorded span takes precedence).
    trace = incoming_trace if _TRACEPARENT.fullmatch(incoming_trace) else new_traceparent()
    tokens: list[tuple[ContextVar[str | None], Token[str | None]]] = [
        (context.correlation_id, context.correlation_id.set(request_id)),
        (context.traceparent, context.traceparent.set(trace)),
        (context.actor, context.actor.set(None)),
        (context.purpose, context.purpose.set(request.endpoint)),
    ]
    g.casehub_context_tokens = tokens
    g.casehub_request_started = time.perf_counter()
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(correlation_id=request_id)
    said = stated_purpose(request.headers.get(PURPOSE_HEADER))
    g.casehub_stated_purpose = said
    context.purpose.set(said or request.endpoint)


def required_purpose(why: str) -> str:
    """The caller's stated ``X-Purpose``, which this operation cannot go without (break the
    glass): missing, it is a 400 naming the header, before anything is read."""
    said = g.get("casehub_stated_purpose")
    if not said:
        raise Problem(
            400,
            detail=f"{PURPOSE_HEADER} is required: {why}",
            errors={"headers": {PURPOSE_HEADER: ["required: say why you need this access"]}},
            reason="purpose_required",
        )
    return str(said)


def _finish_request(response: Response) -> Response:
    request_id = context.correlation_id.get()
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("casehub_request_started", time.perf_counter())
    _access_log.info(
        "http_request",
        method=request.method,
        path=request.path,
        status=response.status_code,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
        request_id=request_id,
        actor=context.actor.get(),
    )
    return response


def _leave_request(_: BaseException | None) -> None:
    """Restore the context variables so a reused worker thread starts the next request clean."""
    for var, token in reversed(g.pop("casehub_context_tokens", [])):
        try:
            var.reset(token)
        except (ValueError, RuntimeError):  # token from another context, or already used
            var.set(None)
    structlog.contextvars.clear_contextvars()


def register_request_context(app: Flask) -> None:
    """Install first, so every later hook, log line and error body sees the request id."""
    app.before_request_funcs.setdefault(None, []).insert(0, _enter_request)
    app.after_request(_finish_request)
    app.teardown_request(_leave_request)
