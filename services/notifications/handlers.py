"""Events the notifications service consumes, each mapped to a plain function (routing key -> handler)."""

from __future__ import annotations

from shared.messaging.consumer import Handler

EVENT_HANDLERS: dict[str, Handler] = {}
