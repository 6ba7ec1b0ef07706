"""The referrals service layer, one module per use case (no Flask): ``directory``, ``access``
(who sees which referral), ``moves`` (drafting, sending, the status machine), ``publishing``
(events and the partner feed), ``from_events``, ``partners`` (keys, feed, subscriptions) and
``webhooks`` (delivery, one per transaction)."""

from services.referrals.operations.access import (
    consented_categories,
    count_referrals,
    list_referrals,
    load_referral,
    open_referrals,
    partner_view,
    read,
    referral_details,
    transitions,
    visible_to_referrer,
)
from services.referrals.operations.directory import (
    list_organizations,
    save_organization,
    save_service,
    search_services,
)
from services.referrals.operations.drafts import change_draft
from services.referrals.operations.from_events import (
    draft_from_strategy,
    record_assignment,
    record_consent,
    record_consents,
    record_discharge,
    record_revocation,
    record_team_change,
)
from services.referrals.operations.inbound import (
    list_inbound,
    read_inbound,
    record_decision,
    refer_to_agency,
)
from services.referrals.operations.moves import (
    announce_overdue,
    apply_move,
    create_referral,
    ensure_sendable,
    move,
    send,
)
from services.referrals.operations.partners import (
    change_subscription,
    delete_subscription,
    feed,
    issue_api_key,
    organization_for_key,
    reactivate,
    revoke_api_key,
    rotate_secret,
    signing_secrets,
    subscribe,
    subscriptions,
    webhook_log,
)
from services.referrals.operations.webhooks import deliver_next_webhook, deliver_webhooks

__all__ = [
    "announce_overdue",
    "apply_move",
    "change_draft",
    "change_subscription",
    "consented_categories",
    "count_referrals",
    "create_referral",
    "delete_subscription",
    "deliver_next_webhook",
    "deliver_webhooks",
    "draft_from_strategy",
    "ensure_sendable",
    "feed",
    "issue_api_key",
    "list_inbound",
    "list_organizations",
    "list_referrals",
    "load_referral",
    "move",
    "open_referrals",
    "organization_for_key",
    "partner_view",
    "reactivate",
    "read",
    "read_inbound",
    "record_assignment",
    "record_consent",
    "record_consents",
    "record_decision",
    "record_discharge",
    "record_revocation",
    "record_team_change",
    "refer_to_agency",
    "referral_details",
    "revoke_api_key",
    "rotate_secret",
    "save_organization",
    "save_service",
    "search_services",
    "send",
    "signing_secrets",
    "subscribe",
    "subscriptions",
    "transitions",
    "visible_to_referrer",
    "webhook_log",
]
