"""Events the referrals service publishes; partners receive the same facts as CloudEvents."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.contracts.intake import REQUEST_OUTCOMES
from shared.contracts.registry import REGISTRY

REASON = "Why, one of the reason codes (e.g. `no_capacity`, `client_declined`)."


class _ReferralEvent(Schema):
    referral_id = fields.String(
        required=True, metadata={"description": "The referral (`GET /partner/referrals/{id}`)."}
    )
    client_id = fields.String(required=True, metadata={"description": "Internal; never sent."})
    client_reference = fields.String(
        required=True, metadata={"description": "The agency's reference for the client."}
    )
    organization_id = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "The organisation the referral is addressed to (null only for a "
            "draft that still needs a service, which partners never see)."
        },
    )
    service_id = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "The service of the directory referred to."},
    )
    status = fields.String(
        required=True, metadata={"description": "The FHIR Task status after the change."}
    )
    plan_id = fields.String(load_default=None, allow_none=True)
    strategy_id = fields.String(load_default=None, allow_none=True)
    at = fields.AwareDateTime(required=True, metadata={"description": "When it happened."})


@REGISTRY.register("casehub.referrals.referral.created.v1", "A referral was drafted.")
class ReferralCreated(_ReferralEvent):
    pass


@REGISTRY.register(
    "casehub.referrals.referral.sent.v1", "A referral was sent to the partner (requested)."
)
class ReferralSent(_ReferralEvent):
    pass


@REGISTRY.register(
    "casehub.referrals.referral.status_changed.v1", "Any move of a referral's status."
)
class ReferralStatusChanged(_ReferralEvent):
    from_status = fields.String(required=True, metadata={"description": "The status before."})
    reason_code = fields.String(
        load_default=None, allow_none=True, metadata={"description": REASON}
    )
    by_side = fields.String(
        required=True, metadata={"description": "`referrer` or `partner`: who moved it."}
    )


@REGISTRY.register("casehub.referrals.referral.completed.v1", "The partner completed the referral.")
class ReferralCompleted(_ReferralEvent):
    outcome = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "What came of the referral, as the partner wrote it."},
    )


@REGISTRY.register(
    "casehub.referrals.referral.rejected.v1", "The partner rejected the referral (with a reason)."
)
class ReferralRejected(_ReferralEvent):
    reason_code = fields.String(
        load_default=None, allow_none=True, metadata={"description": REASON}
    )


@REGISTRY.register(
    "casehub.referrals.referral.failed.v1",
    "The partner could not complete the referral (with a reason).",
)
class ReferralFailed(_ReferralEvent):
    reason_code = fields.String(
        load_default=None, allow_none=True, metadata={"description": REASON}
    )


@REGISTRY.register(
    "casehub.referrals.referral.cancelled.v1",
    "The referral was cancelled, by the referrer or (once accepted) by the partner.",
)
class ReferralCancelled(_ReferralEvent):
    reason_code = fields.String(required=True, metadata={"description": REASON})
    by_side = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "`referrer` or `partner`: who cancelled."},
    )


@REGISTRY.register(
    "casehub.referrals.referral.overdue.v1", "The partner has not responded in time."
)
class ReferralOverdue(_ReferralEvent):
    sent_at = fields.AwareDateTime(
        required=True, metadata={"description": "When it was sent: no answer since."}
    )


@REGISTRY.register(
    "casehub.referrals.inbound_referral.decided.v1",
    "The agency's intake worked someone a partner referred to it: registered as a client, "
    "matched to a known one, or declined with a reason for the partner. On the partner's feed "
    "and webhooks; never a name or a client id.",
)
class InboundReferralDecided(Schema):
    inbound_referral_id = fields.String(required=True)
    organization_id = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(REQUEST_OUTCOMES))
    reason = fields.String(load_default=None, allow_none=True)
    decided_at = fields.AwareDateTime(required=True)


@REGISTRY.register(
    "casehub.referrals.client.erased.v1",
    "The service erased what it held about a client whose retention ran out: rows per kind.",
)
class ClientErasedReferrals(Schema):
    client_id = fields.String(required=True)
    erased_at = fields.AwareDateTime(required=True)
    erased = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


@REGISTRY.register(
    "casehub.referrals.webhook.disabled.v1",
    "A partner's webhook subscription failed through the whole retry schedule and was disabled.",
)
class WebhookDisabled(Schema):
    subscription_id = fields.String(required=True)
    organization_id = fields.String(required=True)
    url = fields.String(required=True)
    failed_attempts = fields.Integer(required=True)
    failing_since = fields.AwareDateTime(required=True)
    disabled_at = fields.AwareDateTime(required=True)
    contact_email = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "The partner's admin contact, who is told by e-mail."},
    )


@REGISTRY.register(
    "casehub.referrals.inbound_referral.received.v1",
    "A partner referred someone to the agency (intake sees it as a new request).",
)
class InboundReferralReceived(Schema):
    inbound_referral_id = fields.String(required=True)
    organization_id = fields.String(
        required=True, metadata={"description": "The partner that referred."}
    )
    client_reference = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "The agency's reference, when the person is a known client."},
    )
    given_name = fields.String(required=True)
    family_name = fields.String(required=True)
    phone = fields.String(load_default=None, allow_none=True)
    email = fields.String(load_default=None, allow_none=True)
    reason = fields.String(required=True)
    domains = fields.List(fields.String(), load_default=list)
    related_referral_id = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "The agency's referral this one answers, if any."},
    )
    received_at = fields.AwareDateTime(required=True)
