"""Events the notifications service publishes: which notification reached whom, or did not."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.contracts.registry import REGISTRY

#: ``sms`` only for a client's appointment reminder (through the agency's SMS gateway).
CHANNELS = ("email", "webhook", "in_app", "sms")


class _NotificationEvent(Schema):
    notification_id = fields.String(required=True)
    client_id = fields.String(load_default=None, allow_none=True)
    urgency = fields.String(
        required=True, validate=validate.OneOf(("urgent", "priority", "normal", "low"))
    )


@REGISTRY.register(
    "casehub.notifications.notification.delivered.v1", "A delivery reached its channel."
)
class NotificationDelivered(_NotificationEvent):
    delivery_id = fields.String(required=True)
    recipient = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    delivered_at = fields.AwareDateTime(required=True)


@REGISTRY.register(
    "casehub.notifications.notification.failed.v1", "A delivery failed after every retry."
)
class NotificationFailed(_NotificationEvent):
    delivery_id = fields.String(required=True)
    recipient = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    attempts = fields.Integer(required=True)
    failed_at = fields.AwareDateTime(required=True)


@REGISTRY.register(
    "casehub.notifications.notification.escalated.v1", "Nobody acknowledged in time: escalated."
)
class NotificationEscalated(_NotificationEvent):
    level = fields.Integer(required=True)
    escalated_to = fields.List(fields.String(), required=True)
    escalated_at = fields.AwareDateTime(required=True)


@REGISTRY.register(
    "casehub.notifications.notification.acknowledged.v1", "A person acknowledged the notification."
)
class NotificationAcknowledged(_NotificationEvent):
    acknowledged_by = fields.String(required=True)
    acknowledged_at = fields.AwareDateTime(required=True)


@REGISTRY.register(
    "casehub.notifications.client.erased.v1",
    "The service erased what it held about a client whose retention ran out: rows per kind.",
)
class ClientErasedNotifications(Schema):
    client_id = fields.String(required=True)
    erased_at = fields.AwareDateTime(required=True)
    erased = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
