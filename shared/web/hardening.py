"""Response headers every API answer carries, and a brake on guessing credentials, alike in every
service (issue 14, item 6)."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from flask import Flask, Response, current_app, g, request
from sqlalchemy import MetaData

from shared.audit import AuditTrail
from shared.logging import get_logger
from shared.web.problems import Problem

HARDENING_EXTENSION = "casehub_failed_auth"
#: The answers that refuse someone a client's record: who tried is worth keeping.
REFUSALS = (401, 403, 404)
#: Every service's ``audit_log`` has these columns; the table object needs no service's models.
_AUDIT = AuditTrail(MetaData())
_log = get_logger(__name__)


def _no_store(response: Response) -> Response:
    """API answers hold client data: no cache (browser, proxy) may keep them, and no browser may
    guess their type. A view that set its own Cache-Control (the docs' assets) keeps it."""
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


class FailedAuthLimiter:
    """A sliding window of failed tokens / API keys per client address, in this process only:
    past ``limit`` failures within ``window`` seconds the address is answered 429 until the
    oldest failure leaves the window. Several processes each count their own."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit, self.window, self._clock = limit, window, clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        failures = self._failures.get(address, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            self._failures.pop(address, None)
        return failures

    def retry_after(self, address: str) -> int | None:
        """Seconds until the address may try again, or None if it may now."""
        if self.limit <= 0:
            return None
        with self._lock:
            now = self._clock()
            failures = self._recent(address, now)
            if len(failures) < self.limit:
                return None
            return max(1, math.ceil(failures[0] + self.window - now))

    def record_failure(self, address: str) -> None:
        if self.limit <= 0:
            return
        with self._lock:
            now = self._clock()
            failures = self._recent(address, now)
            failures.append(now)
            self._failures[address] = failures


def _limiter() -> FailedAuthLimiter | None:
    return current_app.extensions.get(HARDENING_EXTENSION)  # type: ignore[no-any-return]


def _address() -> str:
    return request.remote_addr or "unknown"


def refuse_if_guessing() -> None:
    """Called before credentials are checked: an address over the limit is not even tried."""
    limiter = _limiter()
    wait = limiter.retry_after(_address()) if limiter else None
    if wait is not None:
        raise Problem(
            429,
            detail=(
                f"Too many requests with invalid credentials from this address; retry in {wait} s."
            ),
            headers={"Retry-After": str(wait)},
        )


def record_failed_credentials() -> None:
    limiter = _limiter()
    if limiter is not None:
        limiter.record_failure(_address())


def _audit_refusal(response: Response) -> Response:
    """A refused attempt on a client's record (a path naming ``client_id``) goes to the audit
    trail like a granted one: who (or 'unauthenticated'), the status and the operation."""
    client_id = (request.view_args or {}).get("client_id")
    runtime = current_app.extensions.get("casehub_runtime")
    if response.status_code not in REFUSALS or not client_id or runtime is None:
        return response
    from shared.web.auth import Principal

    principal = g.get("casehub_principal") or g.get("casehub_refused_principal")
    actor = principal or Principal(sub="unauthenticated", roles=frozenset())
    try:
        with runtime.database.session() as session, session.begin():
            _AUDIT.record(
                session,
                actor,
                "access.refused",
                "client",
                str(client_id)[:36],
                str(client_id)[:36],
                status=response.status_code,
                method=request.method,
                operation=request.endpoint,
            )
    except Exception as error:  # the refusal stands even if the trail cannot be written
        _log.error("refusal_not_audited", error_type=type(error).__name__, exc_info=error)
    return response


def register_hardening(app: Flask, *, failure_limit: int, failure_window: float) -> None:
    app.extensions[HARDENING_EXTENSION] = FailedAuthLimiter(failure_limit, failure_window)
    app.after_request(_no_store)
    app.after_request(_audit_refusal)


def hide_server_header() -> None:
    """gunicorn announces itself (``Server: gunicorn``) in every answer: say nothing instead, as
    the server's name and version only help someone matching it against known flaws."""
    from gunicorn.http import wsgi

    if getattr(wsgi.Response.default_headers, "casehub_quiet", False):
        return
    original = wsgi.Response.default_headers

    def default_headers(self: wsgi.Response) -> list[str]:
        return [line for line in original(self) if not line.startswith("Server:")]

    default_headers.casehub_quiet = True  # type: ignore[attr-defined]
    wsgi.Response.default_headers = default_headers  # type: ignore[method-assign]
