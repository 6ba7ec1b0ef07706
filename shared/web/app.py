"""One factory for every service's HTTP app, so errors, auth, docs and probes are identical."""

from __future__ import annotations

import http
from collections.abc import Callable, Mapping, Sequence
from copy import deepcopy
from typing import Any

import flask_smorest
from apispec import BasePlugin
from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from shared.audit import PURPOSE_LENGTH
from shared.config import Settings
from shared.idempotency import KEY_HEADER, KEY_LENGTH
from shared.logging import configure_logging
from shared.tracing import configure_tracing, instrument_app
from shared.web.auth import (
    API_KEY_SCHEME,
    API_KEY_SCHEME_NAME,
    SECURITY_SCHEME,
    SECURITY_SCHEME_NAME,
)
from shared.web.docs import docs_config, register_docs_assets
from shared.web.hardening import register_hardening
from shared.web.idempotency import register_idempotency
from shared.web.observability import register_observability
from shared.web.problems import (
    PROBLEM_CONTENT_TYPE,
    ProblemSchema,
    http_exception_response,
    reason_phrase,
    register_problem_handlers,
)
from shared.web.query import UNKNOWN_QUERY_MESSAGE, register_query_check
from shared.web.request_context import (
    PURPOSE_CHARACTERS,
    PURPOSE_HEADER,
    register_request_context,
)


def _problem_content() -> dict[str, Any]:
    return {PROBLEM_CONTENT_TYPE: {"schema": "Problem"}}


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": _problem_content()}


#: Answers the shared layer gives for any operation of a kind, whatever the view does.
_BODY_ERRORS = {
    400: "The body is not valid JSON",
    413: "The body is larger than the limit (CASEHUB_MAX_CONTENT_LENGTH)",
    415: "The body is not application/json",
}
_UNKNOWN_QUERY = (
    "A query parameter the operation does not take (each is named under errors.query: "
    f"{UNKNOWN_QUERY_MESSAGE!r})"
)
_NOT_FOUND = "No such record, or not one you may see (existence is not revealed)"
_BAD_PURPOSE = (
    f"{PURPOSE_HEADER} is longer than {PURPOSE_LENGTH} characters or holds a control character"
)
#: The header every operation takes, as a component each operation refers to.
PURPOSE_PARAMETER_ID = "XPurpose"
PURPOSE_PARAMETER: dict[str, Any] = {
    "name": PURPOSE_HEADER,
    "required": False,
    "description": (
        "Why you read or change the record, e.g. `annual review with the client`: the audit "
        "trail keeps it (without it, the operation's name). Spaces and tabs around it are "
        "dropped and an empty value counts as not given; a longer value, or one with a control "
        "character, is a 400 problem, never cut short. Use ASCII: other bytes are read as "
        "ISO-8859-1."
    ),
    "schema": {
        "type": "string",
        "maxLength": PURPOSE_LENGTH,
        "pattern": f"^{PURPOSE_CHARACTERS}*$",
    },
    "example": "annual review with the client",
}


IDEMPOTENCY_PARAMETER_ID = "IdempotencyKey"
IDEMPOTENCY_PARAMETER: dict[str, Any] = {
    "name": KEY_HEADER,
    "required": False,
    "description": (
        "Makes a retry safe: the same request sent again with the same key by the same caller "
        "within 24 hours is answered with the first response (header `Idempotent-Replayed: "
        "true`) instead of being carried out twice. A UUID per request is a good key. The same "
        "key with a different request is a 422; a retry while the first is still running is a "
        "409 (`reason: idempotency_key_in_use`); a refused request leaves no claim."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": KEY_LENGTH, "pattern": "^[!-~]+$"},
    "example": "5f0c6a8e-6a39-4f55-9d4b-0e8a1c3d7b21",
}
_IDEMPOTENCY_ERRORS = {
    409: "A request with this Idempotency-Key is still running, or this one conflicts",
    422: "This Idempotency-Key was used for a different request, or the request is invalid",
}
_WRITE_METHODS = ("post", "put", "patch", "delete")


#: Where a service serves a FHIR API: its errors are OperationOutcome resources, not problems.
FHIR_PATH_PREFIX = "/fhir/"
_OUTCOME_CONTENT = {
    "application/fhir+json": {
        "schema": {
            "type": "object",
            "description": "A FHIR OperationOutcome",
            "properties": {"resourceType": {"type": "string", "enum": ["OperationOutcome"]}},
            "required": ["resourceType"],
        }
    }
}


class SharedResponsesPlugin(BasePlugin):
    """Documents, on each operation, what every service takes and answers alike: the optional
    X-Purpose header and the 400 for a malformed one, 404 for a path naming a record, and
    400/413/415 for a JSON body; and gives every error a view documents (e.g. its 409) the
    problem+json body it really has. Clients and fuzzers then see every status code an operation
    can answer in its own `responses`, not only under `default`.

    It runs on the operation flask-smorest has finished building, so the parameters its
    `arguments` produced are kept and the header is added once, by reference."""

    def operation_helper(
        self, path: str | None = None, operations: dict | None = None, **kwargs: Any
    ) -> None:
        for method, operation in (operations or {}).items():
            parameters = operation.setdefault("parameters", [])
            parameters.append(PURPOSE_PARAMETER_ID)
            responses = operation.setdefault("responses", {})
            documented = {str(code) for code in responses}
            extra: dict[int, str] = {400: _BAD_PURPOSE, 422: _UNKNOWN_QUERY}
            if method in _WRITE_METHODS:
                parameters.append(IDEMPOTENCY_PARAMETER_ID)
                extra.update(_IDEMPOTENCY_ERRORS)
            if "requestBody" in operation:
                extra.update(_BODY_ERRORS)
                extra[400] = f"{_BODY_ERRORS[400]}, or {_BAD_PURPOSE}"
            if path and "{" in path:
                extra[404] = _NOT_FOUND
            if method in _WRITE_METHODS:
                extra[400] += f"; or the {KEY_HEADER} is malformed"
            for status, description in extra.items():
                if str(status) not in documented:
                    responses[status] = _problem_response(description)
            fhir = bool(path) and f"{path}/".startswith(FHIR_PATH_PREFIX)
            for status, response in list(responses.items()):
                is_error = str(status).isdigit() and int(status) >= 400
                if fhir and (is_error or status == "default"):
                    described = (
                        response.get("description", "") if isinstance(response, dict) else ""
                    )
                    responses[status] = {
                        "description": described or "Error, as an OperationOutcome",
                        "content": deepcopy(_OUTCOME_CONTENT),
                    }
                elif is_error and isinstance(response, dict) and "content" not in response:
                    response["content"] = _problem_content()


class ServiceApi(flask_smorest.Api):
    """flask-smorest Api whose errors, and their OpenAPI documentation, are RFC 9457 problems."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error: HTTPException) -> Response:  # type: ignore[override]
        return http_exception_response(error)

    def _register_responses(self) -> None:
        """Document smorest's shared error responses with the content type we really send."""
        problem: dict[str, Any] = {"content": {PROBLEM_CONTENT_TYPE: {"schema": ProblemSchema}}}
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": reason_phrase(status)}
            if status >= 200 and status not in (204, 304):
                response.update(problem)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "Error, as application/problem+json", **problem}
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, default, lazy=True)


def create_service_app(
    settings: Settings,
    *,
    title: str,
    description: str,
    blueprints: Sequence[flask_smorest.Blueprint],
    readiness_checks: Mapping[str, Callable[[], None]],
    reported_checks: Mapping[str, Callable[[], None]] | None = None,
    scrape_hooks: Sequence[Callable[[], None]] = (),
    version: str = "1.0.0",
) -> tuple[Flask, flask_smorest.Api]:
    """Build a service's Flask app: problems, request ids, probes, bearer auth docs, blueprints."""
    configure_logging(settings.service, settings.log_level)
    configure_tracing(settings.service)
    app = Flask(f"casehub.{settings.service}", static_folder=None)
    app.config.update(
        API_TITLE=title,
        API_VERSION=version,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        **docs_config(),
        API_SPEC_OPTIONS={"info": {"description": description}},
        MAX_CONTENT_LENGTH=settings.max_content_length,
    )
    app.extensions["casehub_settings"] = settings
    api = ServiceApi(app, spec_kwargs={"extra_plugins": [SharedResponsesPlugin()]})
    register_problem_handlers(app)
    register_hardening(
        app,
        failure_limit=settings.auth_failure_limit,
        failure_window=settings.auth_failure_window,
    )
    register_request_context(app)
    register_idempotency(app)
    register_observability(
        app,
        settings.service,
        readiness_checks,
        reported_checks,
        serve_metrics=settings.metrics_port is None,
        scrape_hooks=scrape_hooks,
    )
    register_docs_assets(app)
    register_query_check(app)
    api.spec.components.security_scheme(SECURITY_SCHEME_NAME, SECURITY_SCHEME)
    api.spec.components.security_scheme(API_KEY_SCHEME_NAME, API_KEY_SCHEME)
    api.spec.components.parameter(PURPOSE_PARAMETER_ID, "header", PURPOSE_PARAMETER)
    api.spec.components.parameter(IDEMPOTENCY_PARAMETER_ID, "header", IDEMPOTENCY_PARAMETER)
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    instrument_app(app)
    return app, api
