"""RFC 9457 problem details for every error, so clients parse one error shape in every service."""

from __future__ import annotations

import http
import re
from collections.abc import Iterator, Mapping
from typing import Any

import marshmallow as ma
from flask import Flask, Response, current_app, has_request_context, request
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from shared import context
from shared.errors import CasehubError
from shared.logging import get_logger

PROBLEM_CONTENT_TYPE = "application/problem+json"
DATABASE_UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
)
_RFC9110_TITLES = {413: "Content Too Large", 422: "Unprocessable Content"}
_MAX_FIELDS_IN_DETAIL = 10
_log = get_logger(__name__)


def reason_phrase(status: int) -> str:
    """The RFC 9110 name of a status code (Python 3.11 still says 'Unprocessable Entity')."""
    if status in _RFC9110_TITLES:
        return _RFC9110_TITLES[status]
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class Problem(Exception):
    """Raise anywhere in a request to answer with an application/problem+json body."""

    def __init__(
        self,
        status: int,
        title: str | None = None,
        detail: str | None = None,
        *,
        type: str = "about:blank",
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        self.status = status
        self.title = title or reason_phrase(status)
        self.detail = detail
        self.type = type
        self.headers = dict(headers or {})
        self.extensions = extensions
        super().__init__(f"{status} {self.title}: {detail or ''}")

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail is not None:
            body["detail"] = self.detail
        if has_request_context():
            body["instance"] = request.path
        return {**body, **self.extensions}


class ProblemSchema(ma.Schema):
    """Documents the problem body in OpenAPI; responses are built by Problem, not dumped."""

    class Meta:
        unknown = ma.INCLUDE  # extension members, e.g. `allowed` on a 409

    type = ma.fields.String(metadata={"description": "URI of the problem type"})
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    instance = ma.fields.String(metadata={"description": "Path of the failed request"})
    request_id = ma.fields.String(metadata={"description": "Echo of X-Request-ID"})
    errors = ma.fields.Dict(metadata={"description": "location -> field -> messages"})


def problem_response(problem: Problem) -> Response:
    """Serialise a Problem, adding the request id so a user can quote it to support."""
    body = problem.to_dict()
    request_id = context.correlation_id.get()
    if request_id:
        body.setdefault("request_id", request_id)
    response = current_app.response_class(
        current_app.json.dumps(body), status=problem.status, mimetype=PROBLEM_CONTENT_TYPE
    )
    response.headers.update(problem.headers)
    return response


def _message_leaves(messages: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            yield from _message_leaves(value, (*path, str(key)))
        return
    text = " ".join(map(str, messages)) if isinstance(messages, list | tuple) else str(messages)
    location, field = (path[0], ".".join(path[1:])) if path else ("request", "")
    yield (f"{field} ({location})" if field else location), text


def validation_detail(messages: Any) -> str:
    """Name each invalid field and why, from webargs' location -> field -> messages structure."""
    parts = [f"{name}: {text}" for name, text in _message_leaves(messages)]
    shown = "; ".join(parts[:_MAX_FIELDS_IN_DETAIL])
    hidden = len(parts) - _MAX_FIELDS_IN_DETAIL
    return f"Invalid input: {shown}" + (f"; and {hidden} more" if hidden > 0 else "")


def http_exception_problem(error: HTTPException) -> Problem:
    """Werkzeug errors and flask-smorest/webargs `abort(...)`, with their messages kept."""
    data: Mapping[str, Any] = getattr(error, "data", None) or {}
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    headers.update(data.get("headers") or {})
    extensions: dict[str, Any] = {}
    errors = data.get("errors", data.get("messages"))
    if errors:
        extensions["errors"] = errors
    detail = data.get("message") or (validation_detail(errors) if errors else error.description)
    return Problem(error.code or 500, detail=detail, headers=headers, **extensions)


def http_exception_response(error: HTTPException) -> Response:
    if error.response is not None:
        return error.response
    return problem_response(http_exception_problem(error))


def _database_unavailable(error: Exception) -> Response:
    _log.error("database_unavailable", error_type=type(error).__name__, exc_info=error)
    problem = Problem(
        503, detail="The database is unreachable; retry shortly.", headers={"Retry-After": "5"}
    )
    return problem_response(problem)


def _concurrent_change(error: Exception) -> Response:
    """A uniqueness rule caught two requests racing for the same thing: nothing was written."""
    _log.warning("integrity_conflict", error_type=type(error).__name__)
    detail = (
        "A concurrent change conflicts with this request; nothing was written. Reload and retry."
    )
    return problem_response(Problem(409, detail=detail))


def _unexpected_error(error: Exception) -> Response:
    _log.error("unhandled_exception", error_type=type(error).__name__, exc_info=error)
    detail = "An unexpected error occurred. Quote the request_id when reporting it."
    return problem_response(Problem(500, detail=detail))


def _argument_locations() -> set[str]:
    """Where the view about to run reads its arguments (json, query, ...), from its smorest doc."""
    view = current_app.view_functions.get(request.endpoint or "")
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        method = request.method.lower()
        view = getattr(view_class, "get" if method == "head" else method, None)
    arguments = getattr(view, "_apidoc", {}).get("arguments", {})
    return {p.get("in") for p in arguments.get("parameters", [])}


def _view_takes_json_body() -> bool:
    return "json" in _argument_locations()


def _reject_non_json_body() -> None:
    """A body in another format is a clear 415, not a confusing 'field missing' 422."""
    has_body = bool(request.content_length) or "chunked" in request.headers.get(
        "Transfer-Encoding", ""
    )
    if has_body and not request.is_json and _view_takes_json_body():
        received = request.mimetype or "a body without Content-Type"
        raise Problem(415, detail=f"This endpoint accepts application/json, not {received}.")


_NUL = "\x00"
_NUL_MESSAGE = "must not contain a NUL (U+0000) character"
_SURROGATE_MESSAGE = "must not contain a lone surrogate (U+D800 to U+DFFF): not valid Unicode"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
#: Deeper JSON than any of our bodies needs is refused before anything walks it.
MAX_JSON_DEPTH = 32
#: The longest identifier any service stores: a longer one in a path names no record.
MAX_ID_LENGTH = 128


def _unstorable_message(text: str) -> str | None:
    """Why a text cannot be stored (PostgreSQL refuses U+0000 in text, and no database encodes a
    lone surrogate as UTF-8), or None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    return _NUL_MESSAGE if found.group() == _NUL else _SURROGATE_MESSAGE


def _unstorable_fields(value: Any, name: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        message = _unstorable_message(value)
        if message:
            yield name or "body", message
    elif isinstance(value, Mapping):
        for key, item in value.items():
            field = f"{name}.{key}" if name else str(key)
            message = _unstorable_message(str(key))
            if message:
                yield field, message
            yield from _unstorable_fields(item, field)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unstorable_fields(item, f"{name}.{index}" if name else str(index))


def _json_depth(value: Any) -> int:
    """How deeply arrays and objects nest, counted without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, Mapping) else item
        if isinstance(item, Mapping | list):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in children)
    return deepest


def _request_json() -> Any:
    """The body as JSON (None if it is not), refusing nesting deeper than MAX_JSON_DEPTH: the
    parser itself recurses, so a thousand levels would otherwise end in a RecursionError 500."""
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        body, depth = None, None
    else:
        depth = _json_depth(body)
    if depth is None or depth > MAX_JSON_DEPTH:
        raise Problem(
            400,
            detail=f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels of arrays/objects.",
        )
    return body


def _reject_unstorable_input() -> None:
    """Text no database can store (U+0000, lone surrogates), JSON nested absurdly deep and
    identifiers longer than any we store are refused at the door, alike on every backend: a
    4xx naming the field, not a database 500."""
    for value in (request.view_args or {}).values():
        text = str(value)
        if _unstorable_message(text) or len(text) > MAX_ID_LENGTH:
            raise Problem(
                404,
                detail=(
                    "No such record: the path holds a NUL or a lone surrogate, or an identifier "
                    f"longer than {MAX_ID_LENGTH} characters."
                ),
            )
    locations = _argument_locations()
    errors: dict[str, dict[str, list[str]]] = {}
    if "query" in locations:
        found = {}
        for key, value in request.args.items(multi=True):
            message = _unstorable_message(key) or _unstorable_message(value)
            if message:
                found[key] = [message]
        if found:
            errors["query"] = found
    if "json" in locations and request.is_json:
        found = {name: [message] for name, message in _unstorable_fields(_request_json())}
        if found:
            errors["json"] = found
    if errors:
        raise Problem(422, detail=validation_detail(errors), errors=errors)


def _value_does_not_fit(error: Exception) -> Response:
    """The database refused a value (too long, out of range): the caller's input, so a 422."""
    _log.warning("value_does_not_fit", error_type=type(error).__name__)
    detail = "A value is too long or out of range for where it is stored; nothing was written."
    return problem_response(Problem(422, detail=detail))


def _refusal(error: CasehubError) -> Response:
    """A rule of the service said no: same problem format, the rule's status and extensions."""
    return problem_response(Problem(error.status, detail=error.detail, **error.extensions))


def register_problem_handlers(app: Flask) -> None:
    """Route every exception a request can raise to a problem+json response."""
    app.register_error_handler(Problem, problem_response)
    app.register_error_handler(CasehubError, _refusal)
    app.register_error_handler(HTTPException, http_exception_response)
    for error_class in DATABASE_UNAVAILABLE_ERRORS:
        app.register_error_handler(error_class, _database_unavailable)
    app.register_error_handler(sa_exc.IntegrityError, _concurrent_change)
    app.register_error_handler(sa_exc.DataError, _value_does_not_fit)
    app.register_error_handler(Exception, _unexpected_error)
    app.before_request(_reject_non_json_body)
    app.before_request(_reject_unstorable_input)
