"""Request and response bodies of the notifications API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.notifications.domain import (
    Channel,
    DeliveryStatus,
    RecipientKind,
    RecipientRole,
    Urgency,
)
from shared.web.fields import ZoneName
from shared.web.paging import CursorPage, PageArgs


class PreferenceIn(Schema):
    email = fields.Email(allow_none=True)
    webhook_url = fields.Url(allow_none=True, require_tld=False)
    webhook_secret = fields.String(
        allow_none=True, validate=validate.Length(min=16, max=200), load_only=True
    )
    channels = fields.List(fields.Enum(Channel, by_value=True), validate=validate.Length(min=1))
    time_zone = ZoneName(metadata={"description": "An IANA time zone name, such as Europe/London."})
    quiet_start = fields.Time(allow_none=True)
    quiet_end = fields.Time(allow_none=True)
    daily_digest_at = fields.Time(allow_none=True)


class PreferenceOut(Schema):
    user_id = fields.String()
    email = fields.String(allow_none=True)
    webhook_url = fields.String(allow_none=True)
    channels = fields.List(fields.String())
    time_zone = fields.String()
    quiet_start = fields.Time(allow_none=True)
    quiet_end = fields.Time(allow_none=True)
    daily_digest_at = fields.Time(allow_none=True)


class RuleOut(Schema):
    id = fields.String()
    name = fields.String()
    event_type = fields.String()
    levels = fields.List(fields.String(), allow_none=True)
    recipients = fields.List(fields.String())
    channels = fields.List(fields.String())
    urgency = fields.String()
    template = fields.String()
    escalate_after_minutes = fields.Integer(allow_none=True)
    active = fields.Boolean()


class RulePatch(Schema):
    recipients = fields.List(
        fields.Enum(RecipientRole, by_value=True), validate=validate.Length(min=1)
    )
    channels = fields.List(fields.Enum(Channel, by_value=True), validate=validate.Length(min=1))
    urgency = fields.Enum(Urgency, by_value=True)
    escalate_after_minutes = fields.Integer(
        allow_none=True, validate=validate.Range(min=1, max=1440)
    )
    active = fields.Boolean()


class InboxArgs(PageArgs):
    unread = fields.Boolean(load_default=False)
    urgent = fields.Boolean(
        load_default=False,
        metadata={"description": "Only urgent items (crisis alerts)."},
    )
    unacknowledged = fields.Boolean(
        load_default=False,
        metadata={"description": "Only alerts nobody has acknowledged yet."},
    )


class InboxItem(Schema):
    delivery_id = fields.String()
    notification_id = fields.String()
    subject = fields.String()
    body = fields.String()
    urgency = fields.String()
    client_reference = fields.String(allow_none=True)
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)
    acknowledged_at = fields.DateTime(allow_none=True)
    #: Who took it: everyone it reached sees that someone is acting, and who.
    acknowledged_by = fields.String(allow_none=True)


class NotificationOut(Schema):
    id = fields.String()
    event_type = fields.String()
    urgency = fields.String()
    subject = fields.String()
    #: Where the emergency access page opens (the on-call email links to it too).
    client_id = fields.String(allow_none=True)
    client_reference = fields.String(allow_none=True)
    created_at = fields.DateTime()
    escalation_level = fields.Integer()
    acknowledged_at = fields.DateTime(allow_none=True)
    acknowledged_by = fields.String(allow_none=True)


class DeliveryArgs(PageArgs):
    status = fields.String(validate=validate.OneOf([str(status) for status in DeliveryStatus]))
    notification_id = fields.String()


class AttemptOut(Schema):
    at = fields.DateTime()
    succeeded = fields.Boolean()
    error = fields.String(allow_none=True)


class DeliveryOut(Schema):
    id = fields.String()
    notification_id = fields.String()
    recipient = fields.String(
        metadata={
            "description": "A person's user id, an on-call address, or ``client:<id>`` for a "
            "client's appointment reminder (their address is never shown; see recipient_kind)"
        }
    )
    recipient_kind = fields.String(validate=validate.OneOf([k.value for k in RecipientKind]))
    escalation_level = fields.Integer(
        metadata={"description": "0 for the alert itself, 1 and 2 for its escalation reminders"}
    )
    channel = fields.String(metadata={"description": "email, webhook, in_app, or sms (clients)"})
    status = fields.String(
        metadata={
            "description": "pending, delivered, failed, or cancelled (the client withdrew consent)"
        }
    )
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    last_error = fields.String(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    attempt_log = fields.List(fields.Nested(AttemptOut))


class DeliveryPage(CursorPage):
    items = fields.List(fields.Nested(DeliveryOut))


class InboxPage(CursorPage):
    items = fields.List(fields.Nested(InboxItem))


class OnCallArgs(PageArgs):
    acknowledged = fields.Boolean(
        load_default=False,
        metadata={
            "description": "The handover instead of the queue: alerts that reached on-call and "
            "were acknowledged in the last 24 hours, the latest acknowledgement first."
        },
    )


class OnCallPage(CursorPage):
    items = fields.List(fields.Nested(NotificationOut))


class RulePage(CursorPage):
    items = fields.List(fields.Nested(RuleOut))
