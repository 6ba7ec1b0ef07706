"""Query parameters an operation does not take are refused, never ignored: a mistyped filter
(``GET /clients?refrence=C-1005``) answered with every client looks like an answer.

One rule, applied in three places so that 401/403 still come before 422:
- the argument parser of ``Blueprint`` checks before it reads the first ``arguments`` (so the
  query is judged before the body),
- ``Blueprint.response`` checks operations that take no arguments at all,
- a ``before_request`` checks every other endpoint (probes, ``/docs``, ``/openapi.json``, and any
  operation not built with this ``Blueprint``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import Flask, current_app, request
from webargs.flaskparser import FlaskParser

from shared.web.problems import Problem

_CHECKED = "_casehub_refuses_unknown_query"
UNKNOWN_QUERY_MESSAGE = "Unknown query parameter: this operation does not take it."


def _view_for(endpoint: str | None, method: str) -> Any:
    """The function that handles this request (a MethodView's method, else the view itself)."""
    view = current_app.view_functions.get(endpoint or "")
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        method = method.lower()
        view = getattr(view_class, "get" if method == "head" else method, None)
    return view


def _field_names(schema: Any) -> Iterable[str]:
    if isinstance(schema, type) and issubclass(schema, ma.Schema):
        schema = schema()
    if isinstance(schema, ma.Schema):
        return [
            field.data_key or name for name, field in schema.fields.items() if not field.dump_only
        ]
    if isinstance(schema, dict):  # webargs' {name: field} argmaps
        return [getattr(field, "data_key", None) or name for name, field in schema.items()]
    return []


@functools.cache
def _declared(view: Any) -> frozenset[str]:
    arguments = getattr(view, "_apidoc", {}).get("arguments", {})
    return frozenset(
        name
        for parameter in arguments.get("parameters", [])
        if parameter.get("in") in ("query", "querystring")
        for name in _field_names(parameter.get("schema"))
    )


def refuse_unknown_query_parameters() -> None:
    """422 naming every query parameter the operation handling this request does not declare."""
    if not request.args:
        return
    declared = _declared(_view_for(request.endpoint, request.method))
    unknown = sorted({name for name in request.args if name not in declared})
    if not unknown:
        return
    takes = f"It takes: {', '.join(sorted(declared))}." if declared else "It takes none."
    raise Problem(
        422,
        detail=f"Unknown query parameter(s): {', '.join(unknown)}. {takes}",
        errors={"query": {name: [UNKNOWN_QUERY_MESSAGE] for name in unknown}},
    )


def _before_request() -> None:
    view = _view_for(request.endpoint, request.method)
    if view is not None and not getattr(view, _CHECKED, False):
        refuse_unknown_query_parameters()


def register_query_check(app: Flask) -> None:
    """Endpoints whose operation does not check after authentication are checked on arrival."""
    app.before_request(_before_request)


@functools.cache
def _schema_instance(schema: type[ma.Schema]) -> ma.Schema:
    return schema()


class _QueryCheckingParser(FlaskParser):
    def parse(self, *args: Any, **kwargs: Any) -> Any:
        refuse_unknown_query_parameters()
        return super().parse(*args, **kwargs)

    def _get_schema(self, argmap: Any, req: Any) -> ma.Schema:
        """One instance per schema class, not one per request: building a schema deep-copies its
        fields (a tenth of a small request's CPU). Loading keeps no state on the instance."""
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            return _schema_instance(argmap)
        return super()._get_schema(argmap, req)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint whose operations refuse query parameters they do not declare,
    after ``require_roles`` has answered 401/403 and before the body is validated."""

    ARGUMENTS_PARSER = _QueryCheckingParser()

    def response(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        document = super().response(*args, **kwargs)

        def decorator(view: Any) -> Any:
            @functools.wraps(view)
            def checked(*view_args: Any, **view_kwargs: Any) -> Any:
                refuse_unknown_query_parameters()
                return view(*view_args, **view_kwargs)

            setattr(checked, _CHECKED, True)
            return document(checked)

        return decorator
