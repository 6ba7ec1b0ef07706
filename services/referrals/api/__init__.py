"""HTTP in and out for referrals: the directory, staff referrals, the partner-facing API and (in
``fhir``) the FHIR R4 referral API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from flask import Flask

from services.referrals import operations
from services.referrals.api.fhir import answer_unrouted_as_fhir
from services.referrals.api.fhir import blueprint as fhir_blueprint
from services.referrals.models import AUDIT, Base, Referral
from services.referrals.schemas import (
    ApiKeyOut,
    DraftChangeIn,
    FeedArgs,
    FeedPage,
    InboundReferralArgs,
    InboundReferralIn,
    InboundReferralOut,
    InboundReferralPage,
    MoveIn,
    OrganizationIn,
    OrganizationOut,
    OrganizationPage,
    PartnerReferralOut,
    PartnerReferralPage,
    ReferralArgs,
    ReferralIn,
    ReferralOut,
    ReferralPage,
    RotationIn,
    ServiceIn,
    ServiceOut,
    ServicePage,
    ServiceSearchArgs,
    StatusArgs,
    SubscriptionChangeIn,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPage,
    SubscriptionSecretOut,
    WebhookDeliveryPage,
)
from shared.service import ServiceRuntime
from shared.web import Principal, current_principal, require_roles
from shared.web.audit import audit_blueprint
from shared.web.auth import API_KEY_RESOLVER
from shared.web.paging import PageArgs, page_body
from shared.web.privacy import privacy_blueprint
from shared.web.query import Blueprint
from shared.web.service_app import current_runtime

STAFF = ("case_manager", "supervisor", "admin")

directory = Blueprint(
    "directory", __name__, url_prefix="", description="Resource directory (Open Referral HSDS)"
)
referrals = Blueprint(
    "referrals", __name__, url_prefix="/referrals", description="Referrals (referrer side)"
)
partner = Blueprint(
    "partner",
    __name__,
    url_prefix="/partner",
    description="Partner-facing API: your organisation's referrals, events feed and webhooks. "
    "Authenticate with a bearer token carrying an `org` claim or an `X-Api-Key` header.",
)
BLUEPRINTS = [
    directory,
    referrals,
    partner,
    fhir_blueprint,
    audit_blueprint(AUDIT),
    privacy_blueprint("referrals", Base.metadata, AUDIT),
]
MOVE_REFUSED = "Not a move allowed from the referral's status (the allowed ones are named)."
MOVE_EXAMPLE = {"status": "accepted", "reason_code": None, "note": "Intake appointment booked"}


def _uow() -> Any:
    return current_runtime().unit_of_work()


def _now() -> datetime:
    return current_runtime().clock.now()


def _today() -> date:
    return current_runtime().clock.today()


def accept_partner_api_keys(app: Flask, runtime: ServiceRuntime) -> None:
    """Partners' API keys as credentials, and FHIR's answer where no route matches."""

    def resolve(presented: str) -> Principal | None:
        with runtime.unit_of_work() as uow:
            organization = operations.organization_for_key(uow, presented, runtime.clock.now())
        prefix = presented.split("_")[1] if presented.count("_") >= 2 else "?"
        return (
            Principal(sub=f"apikey:{prefix}", roles=frozenset({"partner"}), org=organization)
            if organization
            else None
        )

    app.extensions[API_KEY_RESOLVER] = resolve
    answer_unrouted_as_fhir(app)


def _referral_out(uow: Any, referral: Referral) -> dict[str, Any]:
    return _referrals_out(uow, [referral])[0]


def _referrals_out(uow: Any, referrals: Sequence[Referral]) -> list[dict[str, Any]]:
    """Referrals as the API shows them, what each shows beside itself read for all at once."""
    fields = (
        "id",
        "client_id",
        "client_reference",
        "organization_id",
        "service_id",
        "domain",
        "status",
        "referrer_id",
        "plan_id",
        "strategy_id",
        "packet",
        "outcome",
        "created_at",
        "sent_at",
        "updated_at",
    )
    details = operations.referral_details(uow, referrals, _today())
    return [
        {
            **{f: getattr(referral, f) for f in fields},
            "needs_service": referral.service_id is None,
            "shareable_categories": sorted(details[referral.id].shareable or ()),
            "transitions": details[referral.id].transitions,
        }
        for referral in referrals
    ]


# -- directory ---------------------------------------------------------------------------------
@directory.route("/organizations/<organization_id>", methods=["PUT"])
@require_roles("admin")
@directory.arguments(
    OrganizationIn, example={"name": "Housing First", "website": "https://housing.example"}
)
@directory.response(200, OrganizationOut)
def save_organization(values: dict[str, Any], organization_id: str) -> Any:
    """Add or change a partner organisation."""
    with _uow() as uow:
        return operations.save_organization(uow, current_principal(), organization_id, values)


@directory.route("/organizations", methods=["GET"])
@require_roles(*STAFF)
@directory.arguments(PageArgs, location="query")
@directory.response(200, OrganizationPage)
def list_organizations(args: dict[str, Any]) -> Any:
    """The partner organisations with their names (screens name a partner, not its id)."""
    with _uow() as uow:
        page = operations.list_organizations(uow, limit=args["limit"], cursor=args["cursor"])
        items = [{"id": o.id, "name": o.name, "website": o.website} for o in page.items]
    return page_body(page, items)


@directory.route("/services/<service_id>", methods=["PUT"])
@require_roles("admin", "partner")
@directory.arguments(
    ServiceIn,
    example={
        "organization_id": "housing-first",
        "name": "Tenancy support",
        "domains": ["housing"],
        "languages": ["en", "es"],
        "capacity_status": "available",
        "latitude": 51.5,
        "longitude": -0.12,
    },
)
@directory.response(200, ServiceOut)
def save_service(values: dict[str, Any], service_id: str) -> Any:
    """Add or change a service (a partner keeps its own capacity up to date)."""
    with _uow() as uow:
        return operations.save_service(uow, current_principal(), service_id, values)


@directory.route("/services", methods=["GET"])
@require_roles(*STAFF, "partner")
@directory.arguments(ServiceSearchArgs, location="query")
@directory.response(200, ServicePage)
def search_services(args: dict[str, Any]) -> Any:
    """Services by need domain, language, open capacity and distance from a point."""
    near = (
        (args["latitude"], args["longitude"])
        if "latitude" in args and "longitude" in args
        else None
    )
    with _uow() as uow:
        page = operations.search_services(
            uow,
            domain_name=args.get("domain"),
            language=args.get("language"),
            open_capacity=args["open_capacity"],
            near=near,
            within_km=args.get("within_km"),
            limit=args["limit"],
            cursor=args["cursor"],
        )
        items = [
            {**{c.key: getattr(s, c.key) for c in s.__table__.columns}, "distance_km": d}
            for s, d in page.items
        ]
    return page_body(page, items)


@directory.route("/organizations/<organization_id>/api-keys", methods=["POST"])
@require_roles("admin")
@directory.response(201, ApiKeyOut)
def issue_api_key(organization_id: str) -> Any:
    """Issue a partner API key (shown once). Rotate by issuing a new one and revoking the old."""
    with _uow() as uow:
        key, secret = operations.issue_api_key(uow, current_principal(), organization_id)
        return {
            **{
                f: getattr(key, f)
                for f in ("id", "organization_id", "prefix", "created_at", "revoked_at")
            },
            "key": secret,
        }


@directory.route("/api-keys/<key_id>/revoke", methods=["POST"])
@require_roles("admin")
@directory.response(200, ApiKeyOut)
def revoke_api_key(key_id: str) -> Any:
    """Revoke a partner API key at once."""
    with _uow() as uow:
        return operations.revoke_api_key(uow, current_principal(), key_id, _now())


# -- referrer side -----------------------------------------------------------------------------
@referrals.route("", methods=["POST"])
@require_roles("case_manager", "supervisor")
@referrals.arguments(
    ReferralIn,
    example={
        "client_id": "0b7c…",
        "service_id": "tenancy-support",
        "domain": "housing",
        "packet": {
            "contact_details": {"phone": "555-0100"},
            "assessment_summary": "Unmet need: housing",
        },
    },
)
@referrals.response(201, ReferralOut)
@referrals.alt_response(404, description="No such client on your caseload.")
def create_referral(values: dict[str, Any]) -> Any:
    """Draft a referral for a client on your caseload; the packet is filtered by consent when sent."""
    with _uow() as uow:
        return _referral_out(
            uow, operations.create_referral(uow, current_principal(), values, _now())
        )


@referrals.route("", methods=["GET"])
@require_roles(*STAFF)
@referrals.arguments(ReferralArgs, location="query")
@referrals.response(200, ReferralPage)
def list_referrals(args: dict[str, Any]) -> Any:
    """Referrals you made (case manager), your team's (supervisor) or all (admin), oldest first."""
    with _uow() as uow:
        page = operations.list_referrals(
            uow,
            current_principal(),
            status=args.get("status"),
            client_id=args.get("client_id"),
            limit=args["limit"],
            cursor=args["cursor"],
        )
        return page_body(page, _referrals_out(uow, page.items))


@referrals.route("/<referral_id>", methods=["GET"])
@require_roles(*STAFF)
@referrals.response(200, ReferralOut)
def read_referral(referral_id: str) -> Any:
    """A referral with every transition."""
    with _uow() as uow:
        return _referral_out(uow, operations.read(uow, current_principal(), referral_id))


@referrals.route("/<referral_id>", methods=["PATCH"])
@require_roles("case_manager", "supervisor")
@referrals.arguments(
    DraftChangeIn,
    example={"packet": {"contact_details": {"phone": "555-0100"}}},
)
@referrals.response(200, ReferralOut)
@referrals.alt_response(409, description="Not a draft any more: sending fixed its packet.")
def change_draft(values: dict[str, Any], referral_id: str) -> Any:
    """Fill a draft's packet (only the categories the client consented to share with the
    organisation, `shareable_categories`) or choose the service a draft from a plan needs."""
    with _uow() as uow:
        return _referral_out(
            uow,
            operations.change_draft(uow, current_principal(), referral_id, values, _now()),
        )


@referrals.route("/<referral_id>/send", methods=["POST"])
@require_roles("case_manager", "supervisor")
@referrals.response(200, ReferralOut)
@referrals.alt_response(
    409,
    description="Not a draft, no consent in force for the organisation, or no capacity "
    "(`reason`: `no_consent`, `no_capacity`, `no_service`).",
)
def send_referral(referral_id: str) -> Any:
    """Send to the partner (requested): the only way there; needs consent in force and capacity."""
    with _uow() as uow:
        return _referral_out(uow, operations.send(uow, current_principal(), referral_id, _now()))


@referrals.route("/<referral_id>/status", methods=["POST"])
@require_roles("case_manager", "supervisor")
@referrals.arguments(MoveIn, example={"status": "cancelled", "reason_code": "client_declined"})
@referrals.response(200, ReferralOut)
@referrals.alt_response(
    409,
    description=f"{MOVE_REFUSED} Sending (`requested`) is refused with `reason: use_own_endpoint` "
    "naming `POST /referrals/{referral_id}/send`.",
)
def move_referral(body: dict[str, Any], referral_id: str) -> Any:
    """Referrer moves: cancel, entered-in-error (sending has its own endpoint)."""
    with _uow() as uow:
        referral = operations.move(
            uow,
            current_principal(),
            referral_id,
            body["status"],
            reason_code=body["reason_code"],
            note=body["note"],
            outcome=body["outcome"],
            now=_now(),
        )
        return _referral_out(uow, referral)


# -- partner side ------------------------------------------------------------------------------
@partner.route("/referrals", methods=["GET"])
@require_roles("partner")
@partner.arguments(StatusArgs, location="query")
@partner.response(200, PartnerReferralPage)
def partner_referrals(args: dict[str, Any]) -> Any:
    """Referrals addressed to your organisation, oldest first."""
    with _uow() as uow:
        page = operations.list_referrals(
            uow,
            current_principal(),
            status=args.get("status"),
            limit=args["limit"],
            cursor=args["cursor"],
        )
        return page_body(page, [operations.partner_view(uow, r, _today()) for r in page.items])


@partner.route("/referrals/<referral_id>", methods=["GET"])
@require_roles("partner")
@partner.response(200, PartnerReferralOut)
def partner_referral(referral_id: str) -> Any:
    """One referral addressed to you, with the consented parts of the packet only."""
    with _uow() as uow:
        return operations.partner_view(
            uow, operations.read(uow, current_principal(), referral_id), _today()
        )


@partner.route("/referrals/<referral_id>/status", methods=["POST"])
@require_roles("partner")
@partner.arguments(MoveIn, example=MOVE_EXAMPLE)
@partner.response(200, PartnerReferralOut)
@partner.alt_response(409, description=MOVE_REFUSED)
def partner_move(body: dict[str, Any], referral_id: str) -> Any:
    """Accept, reject (with a reason), start, hold, complete (with an outcome) or fail a referral."""
    with _uow() as uow:
        referral = operations.move(
            uow,
            current_principal(),
            referral_id,
            body["status"],
            reason_code=body["reason_code"],
            note=body["note"],
            outcome=body["outcome"],
            now=_now(),
        )
        return operations.partner_view(uow, referral, _today())


@partner.route("/events", methods=["GET"])
@require_roles("partner")
@partner.arguments(FeedArgs, location="query")
@partner.response(200, FeedPage)
def partner_feed(args: dict[str, Any]) -> Any:
    """Your CloudEvents in order; pass ``cursor=next_cursor`` to continue (no gaps, no repeats)."""
    with _uow() as uow:
        entries, cursor = operations.feed(
            uow, current_principal(), after=args["cursor"] or args["after"], limit=args["limit"]
        )
        return {"items": [entry.cloudevent for entry in entries], "next_cursor": cursor}


@partner.route("/webhooks", methods=["POST"])
@require_roles("partner")
@partner.arguments(
    SubscriptionIn,
    example={
        "url": "https://partner.example/casehub",
        "secret": "at-least-16-chars-secret",
        "event_types": ["casehub.referrals.referral.sent.v1"],
    },
)
@partner.response(201, SubscriptionSecretOut)
def subscribe(values: dict[str, Any]) -> Any:
    """Receive your events as signed CloudEvents over HTTPS (see docs/partners.md). The URL must
    be https:// on a host that resolves to public internet addresses only (422 otherwise)."""
    with _uow() as uow:
        subscription, secret = operations.subscribe(
            uow, current_principal(), values, current_runtime().outbound
        )
        return _with_secret(subscription, secret)


def _with_secret(subscription: Any, secret: str | None) -> dict[str, Any]:
    """The secret only when Casehub made it (shown once); one the partner gave is never echoed."""
    shown = {name: getattr(subscription, name) for name in SubscriptionOut().fields}
    return {**shown, **({"secret": secret} if secret else {})}


@partner.route("/webhooks/<subscription_id>", methods=["PATCH"])
@require_roles("partner")
@partner.arguments(SubscriptionChangeIn, example={"active": False})
@partner.response(200, SubscriptionOut)
def change_subscription(values: dict[str, Any], subscription_id: str) -> Any:
    """Change the URL (checked like a new one), the event types, or turn it off and on."""
    with _uow() as uow:
        return operations.change_subscription(
            uow, current_principal(), subscription_id, values, current_runtime().outbound
        )


@partner.route("/webhooks/<subscription_id>", methods=["DELETE"])
@require_roles("partner")
@partner.response(204)
def delete_subscription(subscription_id: str) -> Any:
    """Stop a subscription for good, with its delivery log (the pull feed keeps every event)."""
    with _uow() as uow:
        operations.delete_subscription(uow, current_principal(), subscription_id)
    return None


@partner.route("/webhooks/<subscription_id>/rotate-secret", methods=["POST"])
@require_roles("partner")
@partner.arguments(RotationIn, example={"overlap_seconds": 86400})
@partner.response(200, SubscriptionSecretOut)
def rotate_secret(values: dict[str, Any], subscription_id: str) -> Any:
    """A new signing secret; the old one keeps signing beside it for `overlap_seconds`."""
    with _uow() as uow:
        subscription, secret = operations.rotate_secret(
            uow, current_principal(), subscription_id, values, _now()
        )
        return _with_secret(subscription, secret)


@partner.route("/webhooks", methods=["GET"])
@require_roles("partner")
@partner.arguments(PageArgs, location="query")
@partner.response(200, SubscriptionPage)
def list_subscriptions(args: dict[str, Any]) -> Any:
    """Your webhook subscriptions, with failures and whether they were disabled."""
    with _uow() as uow:
        return page_body(
            operations.subscriptions(
                uow, current_principal(), limit=args["limit"], cursor=args["cursor"]
            )
        )


@partner.route("/webhooks/<subscription_id>/deliveries", methods=["GET"])
@require_roles("partner")
@partner.arguments(PageArgs, location="query")
@partner.response(200, WebhookDeliveryPage)
def webhook_deliveries(args: dict[str, Any], subscription_id: str) -> Any:
    """The delivery log of one subscription, in event order."""
    with _uow() as uow:
        return page_body(
            operations.webhook_log(
                uow,
                current_principal(),
                subscription_id,
                limit=args["limit"],
                cursor=args["cursor"],
            )
        )


@partner.route("/webhooks/<subscription_id>/reactivate", methods=["POST"])
@require_roles("partner")
@partner.response(200, SubscriptionOut)
def reactivate(subscription_id: str) -> Any:
    """Turn a disabled subscription back on once your endpoint works again."""
    with _uow() as uow:
        return operations.reactivate(uow, current_principal(), subscription_id)


@partner.route("/inbound-referrals", methods=["POST"])
@require_roles("partner")
@partner.arguments(
    InboundReferralIn,
    example={
        "given_name": "Sam",
        "family_name": "Rivera",
        "phone": "555-0199",
        "reason": "Tenant in crisis, asked for mental-health support",
        "domains": ["mental_state"],
    },
)
@partner.response(202, InboundReferralOut)
@partner.alt_response(404, description="`related_referral_id` names no referral of yours.")
def refer_to_agency(values: dict[str, Any]) -> Any:
    """Refer someone to the agency: its intake team receives it as a new request."""
    with _uow() as uow:
        return operations.refer_to_agency(uow, current_principal(), values, _now())


@partner.route("/inbound-referrals", methods=["GET"])
@require_roles("partner")
@partner.arguments(InboundReferralArgs, location="query")
@partner.response(200, InboundReferralPage)
def inbound_referrals(args: dict[str, Any]) -> Any:
    """Your referrals to the agency and how its intake worked each, oldest first."""
    with _uow() as uow:
        return page_body(
            operations.list_inbound(
                uow,
                current_principal(),
                status=args.get("status"),
                limit=args["limit"],
                cursor=args["cursor"],
            )
        )


@partner.route("/inbound-referrals/<inbound_id>", methods=["GET"])
@require_roles("partner")
@partner.response(200, InboundReferralOut)
def inbound_referral(inbound_id: str) -> Any:
    """One of your referrals to the agency (404 for another organisation's)."""
    with _uow() as uow:
        return operations.read_inbound(uow, current_principal(), inbound_id)
