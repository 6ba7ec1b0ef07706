"""Events the referrals service publishes; partners receive the same facts as CloudEvents."""

from __future__ import annotations

from marshmallow import Schema, fields

from shared.contracts.registry import REGISTRY


class _ReferralEvent(Schema):
    referral_id = fields.String(required=True)
    client_id = fields.String(required=True)
    client_reference = fields.String(required=True)
    organization_id = fields.String(required=True)
    service_id = fields.String(load_default=None, allow_none=True)
    status = fields.String(required=True, metadata={"description": "FHIR Task status"})
    plan_id = fields.String(load_default=None, allow_none=True)
    strategy_id = fields.String(load_default=None, allow_none=True)
    at = fields.AwareDateTime(required=True)


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
    from_status = fields.String(required=True)
    reason_code = fields.String(load_default=None, allow_none=True)
    by_side = fields.String(required=True)


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
    reason_code = fields.String(load_default=None, allow_none=True)


@REGISTRY.register(
    "casehub.referrals.referral.failed.v1",
    "The partner could not complete the referral (with a reason).",
)
class ReferralFailed(_ReferralEvent):
    reason_code = fields.String(load_default=None, allow_none=True)


@REGISTRY.register(
    "casehub.referrals.referral.cancelled.v1",
    "The referral was cancelled, by the referrer or (once accepted) by the partner.",
)
class ReferralCancelled(_ReferralEvent):
    reason_code = fields.String(required=True)
    by_side = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "`referrer` or `partner`: who cancelled."},
    )


@REGISTRY.register(
    "casehub.referrals.referral.overdue.v1", "The partner has not responded in time."
)
class ReferralOverdue(_ReferralEvent):
    sent_at = fields.AwareDateTime(required=True)


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
