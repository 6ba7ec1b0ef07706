"""Cursor pagination (``limit`` + opaque ``cursor``) by keyset, stable while rows are added."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import Session

from shared.errors import Unprocessable

T = TypeVar("T")
MAX_LIMIT = 200
#: The range of a 64-bit integer column: a cursor's number outside it is none we returned.
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1


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


def is_position(text: str) -> bool:
    """A feed position we could have returned: ASCII digits (``"²".isdigit()`` is true too) of
    a number a 64-bit column holds."""
    return text.isascii() and text.isdigit() and int(text) <= BIGINT_MAX


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
    if python_type is int and not BIGINT_MIN <= value <= BIGINT_MAX:  # no column holds it
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
    descending: bool = False,
    key_values: Callable[[Any], Sequence[Any]] | None = None,
) -> Page[Any]:
    """Items after ``cursor`` in ascending (or ``descending``) order of ``keys`` (the last key
    must be unique): ORM entities, or rows when ``rows`` is set (a Core ``select(table)``, or a
    select of several entities, whose ``key_values(row)`` then says where the row sits)."""
    limit = max(1, min(limit, MAX_LIMIT))
    if cursor:
        values = [
            _coerce(key, value) for key, value in zip(keys, _decode(cursor, len(keys)), strict=True)
        ]
        conditions = []
        for position, key in enumerate(keys):
            equal_before = [keys[i] == values[i] for i in range(position)]
            beyond = key < values[position] if descending else key > values[position]
            conditions.append(and_(*equal_before, beyond))
        statement = statement.where(or_(*conditions))
    order = [key.desc() for key in keys] if descending else list(keys)
    ordered = statement.order_by(*order).limit(limit + 1)
    items = list(session.execute(ordered).all() if rows else session.scalars(ordered))
    if len(items) <= limit:
        return Page(items, None)
    items = items[:limit]
    last = items[-1]
    values_of = key_values or (lambda item: [getattr(item, key.key) for key in keys])
    return Page(items, _encode(list(values_of(last))))


SortKey = tuple[str | int, ...]


def _same_kind(value: Any, part: Any) -> bool:
    """A cursor's value is of the key's type, and a number one of our keys could hold."""
    if type(value) is not type(part):
        return False
    return not isinstance(value, int) or BIGINT_MIN <= value <= BIGINT_MAX


def ordered_page(
    items: Iterable[T], sort_key: Callable[[T], SortKey], *, limit: int, cursor: str | None
) -> Page[T]:
    """A page of items ordered by a rank computed in Python (no index holds it, e.g. a caseload's
    open risk then nearest review): keyset on ``sort_key``, whose last part must be unique."""
    limit = max(1, min(limit, MAX_LIMIT))
    ranked = sorted(((sort_key(item), item) for item in items), key=lambda pair: pair[0])
    if cursor and ranked:
        sample = ranked[0][0]
        after = _decode(cursor, len(sample))
        if any(not _same_kind(value, part) for value, part in zip(after, sample, strict=True)):
            raise Unprocessable("cursor", "not a cursor this API returned")
        ranked = [pair for pair in ranked if pair[0] > tuple(after)]
    if len(ranked) <= limit:
        return Page([item for _, item in ranked], None)
    ranked = ranked[:limit]
    return Page([item for _, item in ranked], _encode(list(ranked[-1][0])))
