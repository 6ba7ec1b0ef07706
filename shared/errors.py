"""Errors a service's rules raise, free of any web framework; the web layer turns them into problems."""

from __future__ import annotations

from typing import Any


class CasehubError(Exception):
    """A refusal the caller can act on: it carries an HTTP-like status and problem extensions."""

    status = 400

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class NotFound(CasehubError):
    """Also used when the caller may not know the thing exists (existence must not leak)."""

    status = 404


class Forbidden(CasehubError):
    status = 403


class Conflict(CasehubError):
    status = 409


class Unprocessable(CasehubError):
    """Field-level refusal; ``errors`` follows the request-validation shape {"json": {field: [msg]}}."""

    status = 422

    def __init__(self, field: str, message: str, **extensions: Any) -> None:
        super().__init__(f"{field}: {message}", errors={"json": {field: [message]}}, **extensions)
