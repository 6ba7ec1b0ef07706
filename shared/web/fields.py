"""Date, instant and time zone fields for request bodies and queries: a day or moment no agency's records
can hold is a 422 naming the field, not a 500. Python's dates end at 9999-12-31 and begin at
0001-01-01, so the day after the one, a moment of 0001-01-01 east of UTC, or an end worked out
from a start near either edge raised OverflowError deep inside an operation."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from marshmallow import ValidationError, fields

from shared.clock import EARLIEST_DAY, LATEST_DAY, zone_or_none

RANGE_MESSAGE = f"must be from {EARLIEST_DAY.isoformat()} to {LATEST_DAY.isoformat()}"


class Day(fields.Date):
    """A calendar day from ``EARLIEST_DAY`` to ``LATEST_DAY``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        day = super()._deserialize(value, attr, data, **kwargs)
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            raise ValidationError(RANGE_MESSAGE)
        return day


class Moment(fields.AwareDateTime):
    """An instant with its UTC offset, on a day (in UTC) from ``EARLIEST_DAY`` to
    ``LATEST_DAY``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            day = moment.astimezone(UTC).date()
        except OverflowError:
            raise ValidationError(RANGE_MESSAGE) from None
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            raise ValidationError(RANGE_MESSAGE)
        return moment


class ZoneName(fields.String):
    """An IANA time zone name (``Europe/London``): one Python cannot load is a 422 here, not a
    stored value that fails whatever later works out a local time with it."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        name = super()._deserialize(value, attr, data, **kwargs)
        if len(name) > 64 or zone_or_none(name) is None:
            raise ValidationError("must be an IANA time zone name, such as Europe/London")
        return name
