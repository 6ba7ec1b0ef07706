"""The query arguments and response shape of every cursor-paged list (``shared.pagination``)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.pagination import MAX_LIMIT


class PageArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(
        load_default=None, metadata={"description": "The next_cursor of the previous page."}
    )


class CursorPage(Schema):
    """A page's ``items`` (declared by each list) and where the next page starts."""

    next_cursor = fields.String(allow_none=True, metadata={"description": "null on the last page."})
