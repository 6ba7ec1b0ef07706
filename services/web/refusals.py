"""How a service's refusal reads on a form: each field's own message, shown beside the field
(linked to it with aria-describedby) rather than in a banner at the top."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from services.web.backend import ApiError


def _words(messages: Any) -> str:
    if isinstance(messages, list):
        return " ".join(_words(part) for part in messages)
    if isinstance(messages, dict):
        return " ".join(_words(part) for part in messages.values())
    return str(messages)


def field_errors(
    error: ApiError, fields: Iterable[str], *, whole_form: str | None = None
) -> dict[str, str]:
    """The API's validation messages for ``fields`` (problem ``errors.json``); a rule over the
    whole body (``_schema``) belongs to ``whole_form``. Anything else left over, or a refusal
    that names no field, goes under ``""`` for the form's own message."""
    found = (error.body.get("errors") or {}).get("json") if error.status == 422 else None
    if not isinstance(found, Mapping) or not found:
        return {"": error.plain_words}
    known = set(fields)
    shown: dict[str, str] = {}
    for field, messages in found.items():
        target = whole_form if field == "_schema" and whole_form else field
        key = target if target in known else ""
        shown[key] = " ".join(part for part in (shown.get(key), _words(messages)) if part)
    return shown
