"""The CloudEvents 1.0 envelope (structured JSON mode) every Casehub event travels in."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

EVENT_TYPE_PATTERN = re.compile(r"^casehub\.([a-z]+)\.([a-z_]+)\.([a-z_]+)\.v([1-9][0-9]*)$")
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
    source = fields.String(required=True, validate=validate.Regexp(r"^/[a-z][a-z0-9_-]*$"))
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
        if not isinstance(envelope, dict):
            raise EnvelopeError({"_schema": ["a CloudEvent must be a JSON object"]})
        try:
            loaded = _CLOUD_EVENT.load(envelope)
        except ValidationError as error:
            raise EnvelopeError(error.normalized_messages()) from error
        return cls(
            type=loaded["type"],
            source=loaded["source"],
            subject=loaded["subject"],
            data=loaded["data"],
            id=loaded["id"],
            time=loaded["time"],
            correlationid=loaded["correlationid"],
            causationid=loaded["causationid"],
            traceparent=loaded["traceparent"],
        )


def routing_key_for(event_type: str) -> str:
    return event_type.removeprefix("casehub.")


def event_type_for(routing_key: str) -> str:
    return routing_key if routing_key.startswith("casehub.") else f"casehub.{routing_key}"
