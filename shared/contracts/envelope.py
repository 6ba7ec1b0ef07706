"""The CloudEvents 1.0 envelope (structured JSON mode) every Casehub event travels in."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

EVENT_TYPE_PATTERN = re.compile(r"^casehub\.([a-z]+)\.([a-z_]+)\.([a-z_]+)\.v([1-9][0-9]*)$")
SOURCE_PATTERN = re.compile(r"^/[a-z][a-z0-9_-]*$")
TRACEPARENT_PATTERN = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


def _require_uuid(value: str) -> None:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise ValidationError("must be a UUID") from None


class CloudEventSchema(Schema):
    """Structured-mode CloudEvent; unknown attributes are ignored so producers can add extensions."""

    class Meta:
        unknown = EXCLUDE

    specversion = fields.String(required=True, validate=validate.Equal("1.0"))
    id = fields.String(required=True, validate=_require_uuid)
    source = fields.String(required=True, validate=validate.Regexp(SOURCE_PATTERN))
    type = fields.String(required=True, validate=validate.Regexp(EVENT_TYPE_PATTERN))
    subject = fields.String(required=True, validate=validate.Length(min=1, max=200))
    time = fields.AwareDateTime(required=True, format="iso")
    datacontenttype = fields.String(load_default="application/json")
    data = fields.Dict(required=True)
    correlationid = fields.String(load_default=None, allow_none=True)
    causationid = fields.String(load_default=None, allow_none=True)
    traceparent = fields.String(load_default=None, allow_none=True)


#: One instance, reused: building a schema deep-copies its fields, and loading keeps no state.
_CLOUD_EVENT = CloudEventSchema()


class EnvelopeError(ValueError):
    """The message is not a Casehub CloudEvent at all; it names what is wrong."""

    def __init__(self, messages: dict[str, Any]) -> None:
        self.messages = messages
        fields_named = ", ".join(sorted(messages)) if isinstance(messages, dict) else str(messages)
        super().__init__(f"invalid CloudEvent envelope: {fields_named}: {messages}")


@dataclass(frozen=True)
class Event:
    """One domain event as producers build it and consumers receive it."""

    type: str
    source: str
    subject: str
    data: dict[str, Any]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    correlationid: str | None = None
    causationid: str | None = None
    traceparent: str | None = None
    #: The data as its contract loads it (dates as dates), when the consumer that validated the
    #: event kept it: handlers read it through ``ContractRegistry.values`` instead of loading the
    #: data a second time. Not part of the event (not compared, not sent).
    values: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def routing_key(self) -> str:
        """Routing key on the topic exchange: the type without the ``casehub.`` prefix."""
        return routing_key_for(self.type)

    def to_cloudevent(self) -> dict[str, Any]:
        envelope: dict[str, Any] = {
            "specversion": "1.0",
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": self.time.isoformat(),
            "datacontenttype": "application/json",
            "data": self.data,
        }
        for extension in ("correlationid", "causationid", "traceparent"):
            value = getattr(self, extension)
            if value:
                envelope[extension] = value
        return envelope

    @classmethod
    def from_cloudevent(cls, envelope: Any) -> Event:
        return cls(**envelope_attributes(envelope))


def envelope_attributes(envelope: Any) -> dict[str, Any]:
    """The event's attributes from a structured-mode CloudEvent (its data as sent), or
    EnvelopeError naming what is wrong.

    A well-formed envelope is checked by hand, field by field as ``CloudEventSchema`` does: the
    schema's generic machinery cost more than any other step of consuming an event. Anything the
    quick check is unsure of goes through the schema, which accepts or names the problem."""
    if not isinstance(envelope, dict):
        raise EnvelopeError({"_schema": ["a CloudEvent must be a JSON object"]})
    quick = _well_formed(envelope)
    if quick is not None:
        return quick
    try:
        loaded = _CLOUD_EVENT.load(envelope)
    except ValidationError as error:
        raise EnvelopeError(error.normalized_messages()) from error
    return {name: loaded[name] for name in _ATTRIBUTES}


_ATTRIBUTES = (
    "type",
    "source",
    "subject",
    "data",
    "id",
    "time",
    "correlationid",
    "causationid",
    "traceparent",
)


def _well_formed(envelope: dict[str, Any]) -> dict[str, Any] | None:
    """The attributes ``CloudEventSchema`` would load, or None to let the schema decide."""
    get = envelope.get
    specversion, event_id, source, event_type, subject, moment, data = (
        get("specversion"),
        get("id"),
        get("source"),
        get("type"),
        get("subject"),
        get("time"),
        get("data"),
    )
    if (
        specversion != "1.0"
        or type(specversion) is not str
        or type(event_id) is not str
        or type(source) is not str
        or type(event_type) is not str
        or type(subject) is not str
        or type(moment) is not str
        or type(data) is not dict
        or not 1 <= len(subject) <= 200
        or SOURCE_PATTERN.match(source) is None
        or EVENT_TYPE_PATTERN.match(event_type) is None
    ):
        return None
    extensions = [get(name) for name in ("correlationid", "causationid", "traceparent")]
    if any(value is not None and type(value) is not str for value in extensions):
        return None
    content_type = get("datacontenttype", "application/json")
    if type(content_type) is not str:
        return None
    try:
        uuid.UUID(event_id)
        when = datetime.fromisoformat(moment)
    except ValueError:
        return None
    if when.tzinfo is None or when.tzinfo.utcoffset(when) is None:
        return None
    return {
        "type": event_type,
        "source": source,
        "subject": subject,
        "data": dict(data),  # a copy, as the schema's Dict field makes
        "id": event_id,
        "time": when,
        "correlationid": extensions[0],
        "causationid": extensions[1],
        "traceparent": extensions[2],
    }


def routing_key_for(event_type: str) -> str:
    return event_type.removeprefix("casehub.")


def event_type_for(routing_key: str) -> str:
    return routing_key if routing_key.startswith("casehub.") else f"casehub.{routing_key}"
