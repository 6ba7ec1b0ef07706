"""The query arguments and response shape of every list: ``{items, next_cursor}``, a page at a
time (``limit``, and ``cursor`` = the previous page's ``next_cursor``; ``shared.pagination``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from marshmallow import Schema, fields, validate

from shared.pagination import MAX_LIMIT, Page


class PageArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(
        load_default=None, metadata={"description": "The next_cursor of the previous page."}
    )


class FirstPagesArgs(Schema):
    """The query of an answer made of several lists (a record as a screen shows it), each its
    first page."""

    limit = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={
            "description": "At most this many of each list; a list's next_cursor continues it "
            "at the list's own endpoint."
        },
    )


class CursorPage(Schema):
    """A page's ``items`` (declared by each list) and where the next page starts."""

    next_cursor = fields.String(allow_none=True, metadata={"description": "null on the last page."})


def page_body(page: Page[Any], items: Iterable[Any] | None = None) -> dict[str, Any]:
    """A page as every list answers it: its items (as the view converted them, when it did)
    and where the next page starts."""
    return {"items": list(page.items if items is None else items), "next_cursor": page.next_cursor}
