"""HTTP in and out for notifications: inbox, acknowledgement, preferences, rules, delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.notifications import operations
from services.notifications.domain import ON_CALL_ROLE
from services.notifications.models import AUDIT, Base
from services.notifications.schemas import (
    DeliveryArgs,
    DeliveryPage,
    InboxArgs,
    InboxItem,
    InboxPage,
    NotificationOut,
    OnCallArgs,
    OnCallPage,
    PreferenceIn,
    PreferenceOut,
    RuleOut,
    RulePage,
    RulePatch,
)
from shared.web import current_principal, require_roles
from shared.web.audit import audit_blueprint
from shared.web.paging import PageArgs, page_body
from shared.web.privacy import privacy_blueprint
from shared.web.query import Blueprint
from shared.web.service_app import current_runtime

STAFF = ("intake_worker", "case_manager", "supervisor", "admin")
#: Who may acknowledge: the staff an alert reached, and on-call for what reached on-call.
ACKNOWLEDGERS = (*STAFF, ON_CALL_ROLE)

inbox = Blueprint(
    "inbox", __name__, url_prefix="/me", description="My notifications and preferences"
)
notifications = Blueprint(
    "notifications", __name__, url_prefix="/notifications", description="Acknowledging alerts"
)
admin = Blueprint(
    "admin", __name__, url_prefix="", description="Rules, preferences and the delivery log"
)
BLUEPRINTS = [
    inbox,
    notifications,
    admin,
    audit_blueprint(AUDIT),
    privacy_blueprint("notifications", Base.metadata, AUDIT),
]
PREFERENCE_EXAMPLE = {
    "email": "dana@example.org",
    "channels": ["email", "in_app"],
    "time_zone": "Europe/London",
    "quiet_start": "21:00:00",
    "quiet_end": "07:00:00",
    "daily_digest_at": "08:00:00",
}


def _uow() -> Any:
    return current_runtime().unit_of_work()


def _now() -> datetime:
    return current_runtime().clock.now()


@inbox.route("/notifications", methods=["GET"])
@require_roles(*STAFF)
@inbox.arguments(InboxArgs, location="query")
@inbox.response(200, InboxPage)
def my_notifications(args: dict[str, Any]) -> Any:
    """My in-app inbox, newest first."""
    # An audited read: every page's crisis banner asks this, mostly to find nothing, which
    # is then one round trip (no BEGIN or COMMIT); each item shown is still audited.
    with current_runtime().audited_read() as read:
        page = operations.inbox(
            read,
            current_principal(),
            unread_only=args["unread"],
            urgent_only=args["urgent"],
            unacknowledged_only=args["unacknowledged"],
            limit=args["limit"],
            cursor=args["cursor"],
        )
        return page_body(
            page,
            [_inbox_item(delivery, notification) for delivery, notification in page.items],
        )


@inbox.route("/notifications/<notification_id>", methods=["GET"])
@require_roles(*STAFF)
@inbox.response(200, InboxItem)
def my_notification(notification_id: str) -> Any:
    """One notification of my inbox: where an alert's link lands."""
    with _uow() as uow:
        return _inbox_item(*operations.inbox_item(uow, current_principal(), notification_id))


def _inbox_item(delivery: Any, notification: Any) -> dict[str, Any]:
    return {
        "delivery_id": delivery.id,
        "notification_id": notification.id,
        "subject": notification.subject,
        "body": notification.body,
        "urgency": notification.urgency,
        "client_reference": notification.client_reference,
        "created_at": notification.created_at,
        "read_at": delivery.read_at,
        "acknowledged_at": notification.acknowledged_at,
        "acknowledged_by": notification.acknowledged_by,
    }


@inbox.route("/notifications/<delivery_id>/read", methods=["POST"])
@require_roles(*STAFF)
@inbox.response(204)
def mark_read(delivery_id: str) -> None:
    """Mark an inbox item read (reading is not acknowledging a crisis alert)."""
    with _uow() as uow:
        operations.mark_read(uow, current_principal(), delivery_id, _now())


@inbox.route("/preferences", methods=["GET"])
@require_roles(*STAFF)
@inbox.response(200, PreferenceOut)
@inbox.alt_response(404, description="No preferences were set for you yet.")
def my_preferences() -> Any:
    """How I am reached."""
    with _uow() as uow:
        return operations.read_preferences(uow, current_principal(), current_principal().sub)


@inbox.route("/preferences", methods=["PUT"])
@require_roles(*STAFF)
@inbox.arguments(PreferenceIn, example=PREFERENCE_EXAMPLE)
@inbox.response(200, PreferenceOut)
def save_my_preferences(values: dict[str, Any]) -> Any:
    """Channels, quiet hours (non-urgent items wait) and a daily digest for low-priority items."""
    with _uow() as uow:
        return operations.save_preferences(
            uow, current_principal(), current_principal().sub, values, current_runtime().outbound
        )


@notifications.route("/on-call", methods=["GET"])
@require_roles(ON_CALL_ROLE, "admin")
@notifications.arguments(OnCallArgs, location="query")
@notifications.response(200, OnCallPage)
def on_call_queue(args: dict[str, Any]) -> Any:
    """Crisis alerts that reached on-call and nobody has acknowledged yet, the longest waiting
    first: the on-call worker's queue (each links to the alert, where it is acknowledged). With
    ``acknowledged=true``, the handover: those acknowledged in the last 24 hours, by whom."""
    since = _now() - operations.HANDOVER if args["acknowledged"] else None
    with current_runtime().audited_read() as read:
        page = operations.on_call_queue(
            read,
            current_principal(),
            limit=args["limit"],
            cursor=args["cursor"],
            acknowledged_since=since,
        )
        return page_body(page, page.items)


@notifications.route("/on-call/<notification_id>", methods=["GET"])
@require_roles(ON_CALL_ROLE, "admin")
@notifications.response(200, NotificationOut)
@notifications.alt_response(404, description="No crisis alert by that id reached on-call.")
def on_call_alert(notification_id: str) -> Any:
    """One crisis alert that reached on-call, acknowledged or not (then by whom and when): what
    the on-call worker opens from the queue or the on-call email."""
    with current_runtime().audited_read() as read:
        return operations.on_call_alert(read, current_principal(), notification_id)


@notifications.route("/<notification_id>/acknowledge", methods=["POST"])
@require_roles(*ACKNOWLEDGERS)
@notifications.response(200, NotificationOut)
@notifications.alt_response(409, description="Already acknowledged (by whom is named).")
def acknowledge(notification_id: str) -> Any:
    """I have seen this alert and am acting on it: escalation stops. Only someone it reached may
    (a recipient, compared exactly; the ``on_call`` role for an alert that reached on-call; an
    admin); for anyone else it does not exist (404)."""
    with _uow() as uow:
        return operations.acknowledge(uow, current_principal(), notification_id, _now())


@admin.route("/users/<user_id>/preferences", methods=["PUT"])
@require_roles("admin")
@admin.arguments(PreferenceIn, example=PREFERENCE_EXAMPLE)
@admin.response(200, PreferenceOut)
def save_preferences(values: dict[str, Any], user_id: str) -> Any:
    """Set someone's contact details and preferences (admin)."""
    with _uow() as uow:
        return operations.save_preferences(
            uow, current_principal(), user_id, values, current_runtime().outbound
        )


@admin.route("/rules", methods=["GET"])
@require_roles("admin", "supervisor")
@admin.arguments(PageArgs, location="query")
@admin.response(200, RulePage)
def list_rules(args: dict[str, Any]) -> Any:
    """Which events notify whom, how and how urgently (by rule name)."""
    with _uow() as uow:
        return page_body(operations.list_rules(uow, limit=args["limit"], cursor=args["cursor"]))


@admin.route("/rules/<rule_id>", methods=["PATCH"])
@require_roles("admin")
@admin.arguments(RulePatch, example={"escalate_after_minutes": 10})
@admin.response(200, RuleOut)
@admin.alt_response(
    409,
    description="A risk-flag rule cannot be switched off, nor the crisis "
    "rule made less than urgent or stop escalating.",
)
def update_rule(values: dict[str, Any], rule_id: str) -> Any:
    """Change a rule's recipients, channels, urgency, escalation time or switch it off (not a
    risk-flag rule: a risk flag must always reach a person)."""
    with _uow() as uow:
        return operations.update_rule(
            uow,
            current_principal(),
            rule_id,
            {
                k: [str(v) for v in value]
                if isinstance(value, list)
                else (str(value) if k == "urgency" else value)
                for k, value in values.items()
            },
        )


@admin.route("/deliveries", methods=["GET"])
@require_roles("admin", "supervisor")
@admin.arguments(DeliveryArgs, location="query")
@admin.response(200, DeliveryPage)
def list_deliveries(args: dict[str, Any]) -> Any:
    """The delivery log with every attempt, by next attempt time, a page at a time;
    ``status=failed`` shows what did not get through. A supervisor sees the deliveries
    concerning their team (sent to them or their case managers, or about their clients); an
    admin sees all."""
    with _uow() as uow:
        page = operations.deliveries(
            uow,
            current_principal(),
            status=args.get("status"),
            notification_id=args.get("notification_id"),
            limit=args["limit"],
            cursor=args["cursor"],
        )
        attempts = operations.attempts_of(uow, [delivery.id for delivery in page.items])
        return {
            "items": [
                {
                    **{
                        f: getattr(d, f)
                        for f in (
                            "id",
                            "notification_id",
                            "recipient",
                            "recipient_kind",
                            "escalation_level",
                            "channel",
                            "status",
                            "attempts",
                            "next_attempt_at",
                            "last_error",
                            "delivered_at",
                        )
                    },
                    "attempt_log": attempts.get(d.id, []),
                }
                for d in page.items
            ],
            "next_cursor": page.next_cursor,
        }
