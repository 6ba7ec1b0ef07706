"""Cursor pagination (``limit`` + opaque ``cursor``) by keyset, stable while rows are added."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import Session

from shared.errors import Unprocessable

T = TypeVar("T")
MAX_LIMIT = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def _encode(values: Sequence[Any]) -> str:
    plain = [value.isoformat() if isinstance(value, date | datetime) else value for value in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def _decode(cursor: str, size: int) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise Unprocessable("cursor", "not a cursor this API returned") from None
    if not isinstance(values, list) or len(values) != size:
        raise Unprocessable("cursor", "not a cursor this API returned")
    return values


def _python_type(column: Any) -> type:
    """The key's Python type, looking through a TypeDecorator (whose own answer is ``object``)."""
    column_type = column.type
    python_type = column_type.python_type
    if python_type is object and hasattr(column_type, "impl"):
        python_type = column_type.impl.python_type
    return python_type  # type: ignore[no-any-return]


def _coerce(column: Any, value: Any) -> Any:
    """A cursor's value back to the key's type; a value that cannot be one is a bad cursor."""
    python_type = _python_type(column)
    try:
        if python_type is datetime and isinstance(value, str):
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                raise ValueError("a cursor's timestamps carry their zone")
            return moment
        if python_type is date and isinstance(value, str):
            return date.fromisoformat(value)
    except ValueError:
        raise Unprocessable("cursor", "not a cursor this API returned") from None
    is_bool_mixup = isinstance(value, bool) and python_type is not bool  # JSON true for an int
    if not isinstance(value, python_type) or is_bool_mixup:
        raise Unprocessable("cursor", "not a cursor this API returned")
    return value


def keyset_page(
    session: Session,
    statement: Select[Any],
    keys: Sequence[Any],
    *,
    limit: int,
    cursor: str | None,
    rows: bool = False,
) -> Page[Any]:
    """Items after ``cursor`` in ascending order of ``keys`` (the last key must be unique):
    ORM entities, or table rows when ``rows`` is set (a Core ``select(table)``)."""
    limit = max(1, min(limit, MAX_LIMIT))
    if cursor:
        values = [
            _coerce(key, value) for key, value in zip(keys, _decode(cursor, len(keys)), strict=True)
        ]
        conditions = []
        for position, key in enumerate(keys):
            equal_before = [keys[i] == values[i] for i in range(position)]
            conditions.append(and_(*equal_before, key > values[position]))
        statement = statement.where(or_(*conditions))
    ordered = statement.order_by(*keys).limit(limit + 1)
    items = list(session.execute(ordered).all() if rows else session.scalars(ordered))
    if len(items) <= limit:
        return Page(items, None)
    items = items[:limit]
    last = items[-1]
    return Page(items, _encode([getattr(last, key.key) for key in keys]))
