"""What people do with their notifications: acknowledge, read their inbox, set preferences;
and what admins and supervisors manage (rules, the delivery log)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, and_, exists, or_, select

from services.notifications import domain
from services.notifications.events import NotificationAcknowledged
from services.notifications.models import (
    AUDIT,
    ClientCare,
    Delivery,
    DeliveryAttempt,
    Notification,
    Preference,
    Rule,
)
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.outbound import OutboundGuard, OutboundRefused
from shared.pagination import Page, keyset_page
from shared.unit_of_work import AuditedRead, UnitOfWork

if TYPE_CHECKING:
    from shared.identity import Principal


def acknowledge(
    uow: UnitOfWork, actor: Principal, notification_id: str, now: datetime
) -> Notification:
    """Stops escalation. Only someone the alert reached may: a person it was sent to (their
    ``sub``, compared exactly), a holder of the ``on_call`` role when it reached on-call, or an
    admin."""
    notification = _visible_notification(uow, actor, notification_id, lock=True)
    if notification.acknowledged_at is not None:
        raise Conflict("Already acknowledged.", acknowledged_by=notification.acknowledged_by)
    notification.acknowledged_at, notification.acknowledged_by = now, actor.sub
    notification.escalate_at = None
    AUDIT.record(
        uow.session, actor, "acknowledge", "notification", notification.id, notification.client_id
    )
    uow.publish(
        NotificationAcknowledged(
            notification_id=notification.id,
            client_id=notification.client_id,
            urgency=notification.urgency,
            acknowledged_by=actor.sub,
            acknowledged_at=now,
        )
    )
    return notification


def _visible_notification(
    uow: UnitOfWork, actor: Principal, notification_id: str, *, lock: bool = False
) -> Notification:
    notification = uow.session.get(
        Notification, notification_id, with_for_update=True if lock else None
    )
    reached = [_delivered_to(actor)]
    if actor.has_any(domain.ON_CALL_ROLE):
        reached.append(Delivery.recipient_kind == domain.RecipientKind.ON_CALL)
    mine = (
        notification is not None
        and uow.session.scalars(
            select(Delivery.id).where(Delivery.notification_id == notification.id, or_(*reached))
        ).first()
    )
    if notification is None or not (mine or actor.has_any("admin")):
        raise NotFound(f"No notification {notification_id} for you.")
    return notification


def _delivered_to(actor: Principal) -> Any:
    """Deliveries addressed to this person: their subject exactly, never an on-call address."""
    return and_(
        Delivery.recipient == actor.sub, Delivery.recipient_kind == domain.RecipientKind.PERSON
    )


def inbox(
    read: UnitOfWork | AuditedRead,
    actor: Principal,
    *,
    unread_only: bool,
    limit: int,
    cursor: str | None,
    urgent_only: bool = False,
    unacknowledged_only: bool = False,
) -> Page[tuple[Delivery, Notification]]:
    """My in-app items, newest first. The filters let the crisis banner ask for exactly the
    urgent alerts still open, however many other items are newer (and audit only those)."""
    statement = _my_in_app_items(actor)
    if unread_only:
        statement = statement.where(Delivery.read_at.is_(None))
    if urgent_only:
        statement = statement.where(Notification.urgency == domain.Urgency.URGENT)
    if unacknowledged_only:
        statement = statement.where(Notification.acknowledged_at.is_(None))
    page = keyset_page(
        read.session,
        statement,
        [Notification.created_at, Delivery.id],
        limit=limit,
        cursor=cursor,
        rows=True,
        descending=True,
        key_values=lambda row: (row.Notification.created_at, row.Delivery.id),
    )
    items = [(delivery, notification) for delivery, notification in page.items]
    for _delivery, notification in items:
        audit_read(read, actor, notification)
    return Page(items, page.next_cursor)


def inbox_item(
    uow: UnitOfWork, actor: Principal, notification_id: str
) -> tuple[Delivery, Notification]:
    """One notification as it reached my inbox (the page an alert's link opens), without
    reading, and auditing, the rest of the inbox to find it."""
    row = uow.session.execute(
        _my_in_app_items(actor).where(Notification.id == notification_id).limit(1)
    ).first()
    if row is None:
        raise NotFound(f"No notification {notification_id} in your inbox.")
    delivery, notification = row
    audit_read(uow, actor, notification)
    return delivery, notification


def _my_in_app_items(actor: Principal) -> Select[tuple[Delivery, Notification]]:
    return (
        select(Delivery, Notification)
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(_delivered_to(actor), Delivery.channel == domain.Channel.IN_APP)
    )


def audit_read(
    uow: UnitOfWork | AuditedRead,
    actor: Principal,
    notification: Notification,
    via: str = "inbox",
) -> None:
    """An alert names a client: reading it is audited, with where it was read."""
    AUDIT.record(
        uow.session, actor, "read", "notification", notification.id, notification.client_id, via=via
    )


def mark_read(uow: UnitOfWork, actor: Principal, delivery_id: str, now: datetime) -> Delivery:
    delivery = uow.session.get(Delivery, delivery_id)
    if (
        delivery is None
        or delivery.recipient != actor.sub
        or delivery.recipient_kind != domain.RecipientKind.PERSON
        or delivery.channel != domain.Channel.IN_APP
    ):
        raise NotFound(f"No notification {delivery_id} in your inbox.")
    delivery.read_at = delivery.read_at or now
    return delivery


def save_preferences(
    uow: UnitOfWork,
    actor: Principal,
    user_id: str,
    values: Mapping[str, Any],
    outbound: OutboundGuard,
) -> Preference:
    """A webhook URL must be one ``outbound`` allows now (each delivery checks it again)."""
    if user_id != actor.sub and not actor.has_any("admin"):
        raise Forbidden("You may only change your own preferences.")
    if values.get("webhook_url"):
        try:
            outbound.check(values["webhook_url"])
        except OutboundRefused as refused:
            raise Unprocessable("webhook_url", str(refused)) from None
    preference = uow.session.get(Preference, user_id) or Preference(user_id=user_id)
    for field, value in values.items():
        setattr(preference, field, value)
    uow.session.add(preference)
    uow.session.flush()
    return preference


def read_preferences(uow: UnitOfWork, actor: Principal, user_id: str) -> Preference:
    if user_id != actor.sub and not actor.has_any("admin"):
        raise Forbidden("You may only read your own preferences.")
    preference = uow.session.get(Preference, user_id)
    if preference is None:
        raise NotFound(f"No preferences for {user_id} yet.")
    return preference


def list_rules(uow: UnitOfWork, *, limit: int, cursor: str | None) -> Page[Rule]:
    return keyset_page(uow.session, select(Rule), [Rule.name], limit=limit, cursor=cursor)


def update_rule(uow: UnitOfWork, actor: Principal, rule_id: str, values: Mapping[str, Any]) -> Rule:
    rule = uow.session.get(Rule, rule_id)
    if rule is None:
        raise NotFound(f"No rule {rule_id}.")
    refusal = domain.risk_rule_refusal(rule.event_type, rule.urgency, dict(values))
    if refusal:
        raise Conflict(refusal, reason="risk_rule_protected")
    for field, value in values.items():
        setattr(rule, field, value)
    AUDIT.record(uow.session, actor, "update", "rule", rule.id, None, fields=sorted(values))
    return rule


def deliveries(
    uow: UnitOfWork,
    actor: Principal,
    *,
    status: str | None,
    notification_id: str | None,
    limit: int,
    cursor: str | None,
) -> Page[Delivery]:
    """By next attempt time; a pending delivery retried meanwhile may move to a later page. An
    admin sees every delivery, a supervisor those concerning their team."""
    statement = select(Delivery)
    if not actor.has_any("admin"):
        statement = statement.where(_concerning_team_of(actor.sub))
    if status:
        statement = statement.where(Delivery.status == status)
    if notification_id:
        statement = statement.where(Delivery.notification_id == notification_id)
    return keyset_page(
        uow.session, statement, [Delivery.next_attempt_at, Delivery.id], limit=limit, cursor=cursor
    )


def _concerning_team_of(supervisor: str) -> Any:
    """A delivery concerns a supervisor's team when it was sent to them or to a case manager of
    their team, or is about a client of their team. The team is notifications' view of intake's
    latest assignments (``client_care``); a client with no assignment recorded here belongs to
    the supervisor the alert itself named."""
    team_case_managers = select(ClientCare.case_manager_id).where(
        ClientCare.supervisor_id == supervisor, ClientCare.case_manager_id.is_not(None)
    )
    care = ClientCare.client_id == Notification.client_id
    about_team_client = exists().where(
        Notification.id == Delivery.notification_id,
        or_(
            exists().where(care, ClientCare.supervisor_id == supervisor),
            and_(~exists().where(care), Notification.supervisor_id == supervisor),
        ),
    )
    return or_(
        and_(
            Delivery.recipient_kind == domain.RecipientKind.PERSON,
            or_(Delivery.recipient == supervisor, Delivery.recipient.in_(team_case_managers)),
        ),
        about_team_client,
    )


def attempts_of(uow: UnitOfWork, delivery_ids: list[str]) -> dict[str, list[DeliveryAttempt]]:
    """The attempt logs of a page of deliveries, in one query."""
    logs: dict[str, list[DeliveryAttempt]] = {delivery_id: [] for delivery_id in delivery_ids}
    for attempt in uow.session.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id.in_(delivery_ids))
        .order_by(DeliveryAttempt.at)
    ):
        logs[attempt.delivery_id].append(attempt)
    return logs
