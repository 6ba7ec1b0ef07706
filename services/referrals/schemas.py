"""Request and response bodies of the referrals API (staff-facing and partner-facing)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.referrals.domain import REASON_CODES, ReferralStatus
from shared.contracts.intake import DATA_CATEGORIES, LIFE_DOMAINS, REQUEST_OUTCOMES
from shared.web.paging import CursorPage, PageArgs
from shared.webhooks import SECRET_PREFIX, is_standard_secret

CAPACITY = ("available", "waitlist", "full")
#: Places a service can offer; also keeps the number inside the database column (a 32-bit integer).
MAX_CAPACITY = 1_000_000


class OrganizationIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(allow_none=True)
    website = fields.Url(allow_none=True)
    contacts = fields.List(fields.Dict(), load_default=list)


class OrganizationOut(OrganizationIn):
    id = fields.String()


class OrganizationListed(Schema):
    """An organisation as the directory lists it to staff: how to name it, not whom to call."""

    id = fields.String()
    name = fields.String()
    website = fields.String(allow_none=True)


class OrganizationPage(CursorPage):
    items = fields.List(fields.Nested(OrganizationListed))


class ServiceIn(Schema):
    organization_id = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    domains = fields.List(
        fields.String(validate=validate.OneOf(LIFE_DOMAINS)),
        required=True,
        validate=validate.Length(min=1),
    )
    eligibility = fields.String(allow_none=True)
    languages = fields.List(
        fields.String(validate=validate.Length(min=2, max=35)), load_default=list
    )
    fees = fields.String(allow_none=True)
    capacity_status = fields.String(load_default="available", validate=validate.OneOf(CAPACITY))
    capacity_total = fields.Integer(
        allow_none=True, validate=validate.Range(min=0, max=MAX_CAPACITY)
    )
    capacity_in_use = fields.Integer(
        load_default=0, validate=validate.Range(min=0, max=MAX_CAPACITY)
    )
    address = fields.String(allow_none=True)
    latitude = fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    longitude = fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))


class ServiceOut(ServiceIn):
    id = fields.String()
    distance_km = fields.Float(allow_none=True)


class ServiceSearchArgs(PageArgs):
    domain = fields.String(validate=validate.OneOf(LIFE_DOMAINS))
    language = fields.String()
    open_capacity = fields.Boolean(load_default=False)
    latitude = fields.Float(validate=validate.Range(min=-90, max=90))
    longitude = fields.Float(validate=validate.Range(min=-180, max=180))
    within_km = fields.Float(validate=validate.Range(min=0))


class ServicePage(CursorPage):
    items = fields.List(fields.Nested(ServiceOut))


Packet = Schema.from_dict(
    {category: fields.Raw(allow_none=True) for category in DATA_CATEGORIES}, name="Packet"
)


class ReferralIn(Schema):
    client_id = fields.String(required=True)
    service_id = fields.String(required=True)
    domain = fields.String(validate=validate.OneOf(LIFE_DOMAINS), allow_none=True)
    packet = fields.Nested(Packet, load_default=dict)


class DraftChangeIn(Schema):
    """A draft's packet and service, while it is a draft (sending fixes them)."""

    service_id = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "A service of the directory (a draft that needs one)."},
    )
    packet = fields.Nested(
        Packet,
        metadata={
            "description": "Replaces the packet. Only the categories the client consented to "
            "share with the organisation (`shareable_categories`) are accepted."
        },
    )


class MoveIn(Schema):
    status = fields.String(required=True, validate=validate.OneOf([str(s) for s in ReferralStatus]))
    reason_code = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(REASON_CODES)
    )
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2_000))
    outcome = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=2_000),
        metadata={"description": "Needed to complete: what came of it (not only blank space)."},
    )


class TransitionOut(Schema):
    from_status = fields.String()
    to_status = fields.String()
    by = fields.String()
    side = fields.String()
    at = fields.DateTime()
    reason_code = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class ReferralOut(Schema):
    id = fields.String()
    client_id = fields.String()
    client_reference = fields.String()
    organization_id = fields.String(allow_none=True)
    needs_service = fields.Boolean(
        metadata={
            "description": "Drafted from a plan's strategy whose service is not in the directory "
            "yet: choose one (PATCH `service_id`) before sending."
        }
    )
    shareable_categories = fields.List(
        fields.String(),
        metadata={
            "description": "The packet categories the client consents to share with the "
            "organisation now: the only ones a draft's packet may hold."
        },
    )
    service_id = fields.String(allow_none=True)
    domain = fields.String(allow_none=True)
    status = fields.String()
    referrer_id = fields.String(allow_none=True)
    plan_id = fields.String(allow_none=True)
    strategy_id = fields.String(allow_none=True)
    packet = fields.Dict()
    outcome = fields.String(allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime()
    transitions = fields.List(fields.Nested(TransitionOut))


class PartnerReferralOut(Schema):
    id = fields.String()
    client_reference = fields.String()
    service_id = fields.String(allow_none=True)
    domain = fields.String(allow_none=True)
    status = fields.String()
    sent_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime()
    outcome = fields.String(allow_none=True)
    packet = fields.Dict(
        metadata={"description": "Only the data categories the client consented to share."}
    )
    allowed_moves = fields.List(fields.String())


class StatusArgs(PageArgs):
    status = fields.String(validate=validate.OneOf([str(s) for s in ReferralStatus]))


class ReferralArgs(StatusArgs):
    client_id = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Only this client's referrals (the client record lists them)."},
    )


class ApiKeyOut(Schema):
    id = fields.String()
    organization_id = fields.String()
    prefix = fields.String()
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    key = fields.String(metadata={"description": "Shown once; only a hash is stored."})


class FeedArgs(Schema):
    cursor = fields.String(
        load_default=None, metadata={"description": "The next_cursor of the previous page."}
    )
    after = fields.String(
        load_default=None,
        metadata={"description": "The same as `cursor`, the name integrations first used."},
    )
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=200))

    @validates_schema
    def one_position(self, data: dict[str, Any], **_: Any) -> None:
        if data["cursor"] is not None and data["after"] is not None:
            raise ValidationError("Give the position once: `cursor` or `after`.", "after")


class CloudEventOut(Schema):
    """One event as a CloudEvent 1.0 (structured JSON); docs/partners.md documents each `data`."""

    specversion = fields.String(metadata={"example": "1.0"})
    id = fields.String(metadata={"description": "Unique per event: drop one you already have."})
    source = fields.String(metadata={"example": "/referrals"})
    type = fields.String(metadata={"example": "casehub.referrals.referral.sent.v1"})
    subject = fields.String(metadata={"example": "referral/0b7c…"})
    time = fields.String(metadata={"description": "RFC 3339"})
    datacontenttype = fields.String(metadata={"example": "application/json"})
    traceparent = fields.String()
    data = fields.Dict()


class FeedPage(Schema):
    items = fields.List(fields.Nested(CloudEventOut))
    next_cursor = fields.String(
        metadata={
            "description": "Pass as `cursor` next time, even when no items came: unlike other "
            "lists the feed never ends, so this is never null."
        }
    )


def _secret_shape(value: str) -> None:
    if value.startswith(SECRET_PREFIX) and not is_standard_secret(value):
        raise ValidationError("a whsec_ secret is whsec_ + base64 of 24 to 64 bytes")


SECRET_HELP = (
    "Leave out to have Casehub make a Standard Webhooks secret (`whsec_` + base64), returned "
    "once; or give your own: a `whsec_` secret or 16-200 characters."
)
EVENT_TYPES_HELP = "Event types to receive (empty: all); unknown ones are a 422."


class SubscriptionIn(Schema):
    url = fields.Url(required=True, require_tld=False)
    secret = fields.String(
        load_default=None,
        validate=[validate.Length(min=16, max=200), _secret_shape],
        load_only=True,
        metadata={"description": SECRET_HELP},
    )
    event_types = fields.List(
        fields.String(), load_default=list, metadata={"description": EVENT_TYPES_HELP}
    )


class SubscriptionChangeIn(Schema):
    url = fields.Url(require_tld=False)
    event_types = fields.List(fields.String(), metadata={"description": EVENT_TYPES_HELP})
    active = fields.Boolean()


class RotationIn(Schema):
    secret = fields.String(
        load_default=None,
        validate=[validate.Length(min=16, max=200), _secret_shape],
        metadata={"description": SECRET_HELP},
    )
    overlap_seconds = fields.Integer(
        load_default=86_400,
        validate=validate.Range(min=0, max=7 * 86_400),
        metadata={"description": "How long the old secret signs beside the new one."},
    )


class SubscriptionOut(Schema):
    id = fields.String()
    url = fields.String()
    event_types = fields.List(fields.String())
    active = fields.Boolean()
    consecutive_failures = fields.Integer(
        metadata={"description": "Failed attempts in a row, whatever the event."}
    )
    failing_since = fields.DateTime(allow_none=True)
    disabled_at = fields.DateTime(allow_none=True)
    disabled_reason = fields.String(allow_none=True)
    previous_secret_until = fields.DateTime(
        allow_none=True,
        metadata={"description": "Until then the secret a rotation replaced signs too."},
    )


class SubscriptionSecretOut(SubscriptionOut):
    secret = fields.String(
        metadata={"description": "The secret Casehub made (shown once); absent if you gave one."},
    )


class WebhookDeliveryOut(Schema):
    id = fields.String()
    sequence = fields.Integer(metadata={"description": "The event's position in your feed."})
    event_id = fields.String()
    event_type = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    last_error = fields.String(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)


class ReferralPage(CursorPage):
    items = fields.List(fields.Nested(ReferralOut))


class PartnerReferralPage(CursorPage):
    items = fields.List(fields.Nested(PartnerReferralOut))


class SubscriptionPage(CursorPage):
    items = fields.List(fields.Nested(SubscriptionOut))


class WebhookDeliveryPage(CursorPage):
    items = fields.List(fields.Nested(WebhookDeliveryOut))


class InboundReferralIn(Schema):
    """Someone a partner refers to the agency (a new request for intake)."""

    given_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    family_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    email = fields.Email(load_default=None, allow_none=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2_000))
    domains = fields.List(fields.String(validate=validate.OneOf(LIFE_DOMAINS)), load_default=list)
    client_reference = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=20),
        metadata={"description": "The agency's client reference, if the person is a client."},
    )
    related_referral_id = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=36),
        metadata={"description": "One of your referrals this relates to, if any."},
    )

    @validates_schema
    def reachable(self, data: dict[str, Any], **_: Any) -> None:
        if not (data.get("reason") or "").strip():
            raise ValidationError("Say why (not only blank space).", "reason")


class InboundReferralOut(Schema):
    """Your referral of someone to the agency, as you may follow it (the person's details went
    to the agency's intake and are not shown back)."""

    id = fields.String()
    received_at = fields.DateTime()
    related_referral_id = fields.String(allow_none=True)
    status = fields.String(
        metadata={
            "description": "received (intake has it), registered (a new client), matched (a "
            "known client) or declined (see reason)"
        }
    )
    decided_at = fields.DateTime(allow_none=True)
    reason = fields.String(allow_none=True, metadata={"description": "Why it was declined."})


class InboundReferralArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(("received", *REQUEST_OUTCOMES)))


class InboundReferralPage(CursorPage):
    items = fields.List(fields.Nested(InboundReferralOut))
