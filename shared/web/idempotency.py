"""The HTTP side of ``shared.idempotency``: read the key of a write request, answer a retry
with the stored response, and keep the response of the request that ran."""

from __future__ import annotations

from flask import Flask, Response, g, request
from sqlalchemy.exc import SQLAlchemyError

from shared.idempotency import (
    KEY_HEADER,
    KEY_LENGTH,
    KEY_PATTERN,
    REPLAYED_HEADER,
    IdempotentRequest,
    StoredResponse,
    current_request,
    fingerprint,
    kept_headers,
)
from shared.logging import get_logger
from shared.web.problems import Problem

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
log = get_logger(__name__)


def _read_key() -> None:
    if request.method not in WRITE_METHODS or KEY_HEADER not in request.headers:
        return
    key = request.headers[KEY_HEADER].strip()
    if not KEY_PATTERN.fullmatch(key):
        raise Problem(
            400,
            detail=f"{KEY_HEADER} must be 1 to {KEY_LENGTH} visible ASCII characters "
            "(a UUID is a good choice).",
        )
    pending = IdempotentRequest(
        key, fingerprint(request.method, request.full_path, request.get_data(cache=True))
    )
    g.casehub_context_tokens.append((current_request, current_request.set(pending)))


def _keep_response(response: Response) -> Response:
    pending = current_request.get()
    if pending is not None and not response.is_streamed:
        try:
            pending.keep_response(
                response.status_code, response.get_data(), kept_headers(response.headers)
            )
        except SQLAlchemyError as error:
            # The change is committed; a retry will be told to look the record up instead.
            log.warning("idempotency.response_not_kept", error=str(error).splitlines()[0])
    return response


def _replay(stored: StoredResponse) -> Response:
    response = Response(stored.body, status=stored.status, headers=stored.headers)
    response.headers[REPLAYED_HEADER] = "true"
    return response


def register_idempotency(app: Flask) -> None:
    """After the request context (its token list) and before any view runs."""
    app.before_request(_read_key)
    app.after_request(_keep_response)
    app.register_error_handler(StoredResponse, _replay)
