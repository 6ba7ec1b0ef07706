"""The notifications service layer: events become notifications and deliveries; a dispatcher
sends them with retries; an escalator chases unacknowledged crisis alerts. Time is passed in."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter
from sqlalchemy import case, or_, select

from services.notifications import domain
from services.notifications.channels import ChannelConfig, Mailer, render, send_webhook
from services.notifications.models import (
    AUDIT,
    ClientCare,
    Delivery,
    DeliveryAttempt,
    Notification,
    Preference,
    Rule,
)
from shared.contracts import Event
from shared.db import signal_on_commit
from shared.errors import Conflict, Forbidden, NotFound
from shared.logging import get_logger
from shared.pagination import Page, keyset_page
from shared.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from shared.web.auth import Principal

log = get_logger(__name__)
#: Wakes the dispatcher when a delivery due now commits (a crisis alert must not wait for
#: the next poll); see ``PeriodicTask.woken_by``.
DISPATCH_NOW = "casehub_notifications_dispatch"

DELIVERIES_FAILED = Counter(
    "casehub_notification_deliveries_failed_total",
    "Deliveries that failed after every retry (each also published as notification.failed)",
    ["channel", "urgency"],
)


# -- from events -------------------------------------------------------------------------------
def record_assignment(uow: UnitOfWork, data: Mapping[str, Any]) -> None:
    care = uow.session.get(ClientCare, data["client_id"])
    if care is None:
        care = ClientCare(client_id=data["client_id"], client_reference=data["client_reference"])
        uow.session.add(care)
    care.case_manager_id, care.supervisor_id = data["case_manager_id"], data.get("supervisor_id")


def record_discharge(uow: UnitOfWork, data: Mapping[str, Any]) -> None:
    care = uow.session.get(ClientCare, data["client_id"])
    if care is not None:
        care.case_manager_id = care.supervisor_id = None


def notify(
    uow: UnitOfWork, event: Event, config: ChannelConfig, now: datetime
) -> list[Notification]:
    """Every active rule that matches becomes one notification with its deliveries."""
    data = event.data
    rules = uow.session.scalars(
        select(Rule).where(Rule.event_type == event.routing_key, Rule.active.is_(True))
    ).all()
    care = uow.session.get(ClientCare, data["client_id"]) if data.get("client_id") else None
    case_manager = data.get("case_manager_id") or (care.case_manager_id if care else None)
    supervisor = data.get("supervisor_id") or (care.supervisor_id if care else None)
    reference = data.get("client_reference") or (care.client_reference if care else None)
    created = []
    for rule in rules:
        if rule.levels and data.get("level") not in rule.levels:
            continue
        if uow.session.scalars(
            select(Notification.id).where(
                Notification.event_id == event.id, Notification.rule_id == rule.id
            )
        ).first():
            continue  # redelivered event: already turned into this notification
        notification = Notification(
            event_id=event.id,
            event_type=event.type,
            rule_id=rule.id,
            client_id=data.get("client_id"),
            client_reference=reference,
            supervisor_id=supervisor,
            urgency=rule.urgency,
            subject="",
            body="",
        )
        uow.session.add(notification)
        uow.session.flush()
        notification.subject, notification.body = render(
            rule.template,
            client_reference=reference or "(unknown)",
            app_url=config.app_url,
            notification_id=notification.id,
            escalation_level=0,
        )
        if rule.escalate_after_minutes:
            notification.escalate_at = now + timedelta(minutes=rule.escalate_after_minutes)
        recipients = domain.resolve_recipients(
            rule.recipients, case_manager_id=case_manager, supervisor_id=supervisor
        )
        _deliver(uow, notification, recipients, rule.channels, now)
        created.append(notification)
    return created


def _deliver(
    uow: UnitOfWork,
    notification: Notification,
    recipients: list[str],
    channels: list[str],
    now: datetime,
) -> None:
    """Create each recipient x channel delivery once, honouring preferences and quiet hours.
    An urgent notification no one can receive by email also goes to on-call by email."""
    emailed = False
    due_now = False
    # The notification is new (``notify`` skips one that exists), so only this loop can have
    # created a delivery for it: no query per recipient and channel.
    created: set[tuple[str, str]] = set()
    people = [r for r in recipients if not domain.is_on_call(r)]
    # One query, kept in a dict: the session's identity map holds loaded rows only weakly, so
    # looking each one up again was a query per recipient, and each query flushed the previous
    # delivery on its own (the consumer's largest cost on the crisis path).
    preferences = (
        {
            p.user_id: p
            for p in uow.session.scalars(select(Preference).where(Preference.user_id.in_(people)))
        }
        if people
        else {}
    )
    for recipient in recipients:
        preference = preferences.get(recipient)
        for channel in _channels_for(recipient, preference, channels):
            if (recipient, channel) in created:
                continue
            created.add((recipient, channel))
            release, digest = _release(preference, notification.urgency, now)
            in_app = channel == domain.Channel.IN_APP
            # Every delivery sets the same columns, so the flush inserts them in one statement.
            uow.session.add(
                Delivery(
                    notification_id=notification.id,
                    recipient=recipient,
                    channel=channel,
                    next_attempt_at=release,
                    digest=digest,
                    status="delivered" if in_app else "pending",
                    delivered_at=now if in_app else None,
                )
            )
            emailed = emailed or channel == domain.Channel.EMAIL
            due_now = due_now or (channel != domain.Channel.IN_APP and release <= now)
    if notification.urgency == domain.Urgency.URGENT and not emailed:
        uow.session.add(
            Delivery(
                notification_id=notification.id,
                recipient="on_call",
                channel=str(domain.Channel.EMAIL),
                next_attempt_at=now,
            )
        )
        due_now = True
    uow.session.flush()
    if due_now:
        signal_on_commit(uow.session, DISPATCH_NOW)


def _channels_for(recipient: str, preference: Preference | None, wanted: list[str]) -> list[str]:
    if domain.is_on_call(recipient):
        return [str(domain.Channel.EMAIL)]
    if preference is None:
        return [channel for channel in wanted if channel == domain.Channel.IN_APP]
    chosen = [
        channel
        for channel in wanted
        if channel in preference.channels or channel == domain.Channel.IN_APP
    ]
    return [
        c
        for c in chosen
        if (c != domain.Channel.EMAIL or preference.email)
        and (c != domain.Channel.WEBHOOK or preference.webhook_url)
    ]


def _release(preference: Preference | None, urgency: str, now: datetime) -> tuple[datetime, bool]:
    """Preferences apply to people only: on-call (no preference) gets everything at once."""
    if preference is None:
        return now, False
    quiet = (
        domain.QuietHours(preference.quiet_start, preference.quiet_end, preference.time_zone)
        if preference.quiet_start and preference.quiet_end
        else None
    )
    release = domain.release_time(
        urgency,
        now,
        quiet=quiet,
        daily_digest_at=preference.daily_digest_at,
        zone=preference.time_zone,
    )
    return release, urgency == domain.Urgency.LOW and preference.daily_digest_at is not None


# -- sending -----------------------------------------------------------------------------------
Sender = Callable[[Delivery, Notification, list[Notification]], None]
Clock = Callable[[], datetime]


def dispatch_due(
    unit_of_work: Callable[[], AbstractContextManager[UnitOfWork]],
    config: ChannelConfig,
    clock: Clock,
    *,
    limit: int = 500,
    mailer: Mailer | None = None,
) -> int:
    """Send what is due over one SMTP connection, each message in its own transaction: a crash
    repeats at most the one message in flight (with the same Message-ID), never a whole batch.
    The clock is read for every message, so an alert recorded while a run is sending goes out in
    this run instead of waiting for the next one. A ``mailer`` given is left open."""
    sent = 0
    with nullcontext(mailer) if mailer is not None else Mailer(config) as mailer:
        while sent < limit:
            now = clock()
            with unit_of_work() as uow:
                done = dispatch_next(uow, config, mailer, now)
            if not done:
                break
            sent += done
    return sent


class Dispatcher:
    """Dispatcher runs that keep their SMTP connection between them: a run is mostly one alert's
    emails, and connecting and greeting the server again each time delayed the first of them.
    The connection is closed once no run has sent anything for ``idle_seconds``."""

    def __init__(self, clock: Clock, *, idle_seconds: float = 30.0) -> None:
        self.clock = clock
        self.idle_seconds = idle_seconds
        self._mailer: Mailer | None = None
        self._last_sent = time.monotonic()

    def run(
        self, unit_of_work: Callable[[], AbstractContextManager[UnitOfWork]], config: ChannelConfig
    ) -> int:
        if self._mailer is None or self._mailer.config != config:
            self.close()
            self._mailer = Mailer(config)
        sent = dispatch_due(unit_of_work, config, self.clock, mailer=self._mailer)
        if sent:
            self._last_sent = time.monotonic()
        elif time.monotonic() - self._last_sent >= self.idle_seconds:
            self._mailer.close()
        return sent

    def close(self) -> None:
        if self._mailer is not None:
            self._mailer.close()


def dispatch_next(uow: UnitOfWork, config: ChannelConfig, mailer: Mailer, now: datetime) -> int:
    """The most urgent due delivery (the oldest first within an urgency), with its digest
    companions; a failure is retried with backoff and ends visibly in ``failed``."""
    urgency_rank = case(
        domain.SENDING_ORDER, value=Notification.urgency, else_=len(domain.SENDING_ORDER)
    )
    due = (
        select(Delivery, Notification, Preference)
        .join(Notification, Notification.id == Delivery.notification_id)
        .outerjoin(Preference, Preference.user_id == Delivery.recipient)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
        .order_by(urgency_rank, Delivery.next_attempt_at)
        .with_for_update(skip_locked=True, of=Delivery)
    )
    first = uow.session.execute(due.limit(1)).first()
    if first is None:
        return 0
    delivery, notification, preference = first
    person = _person(delivery.recipient)
    if preference is None and person != delivery.recipient:  # an escalation: "sup-1#escalation1"
        preference = uow.session.get(Preference, person)
    group = [(delivery, notification)]
    if delivery.digest:
        companions = uow.session.execute(
            due.where(
                Delivery.digest.is_(True),
                Delivery.recipient == delivery.recipient,
                Delivery.channel == delivery.channel,
                Delivery.id != delivery.id,
            )
        ).all()
        group += [(companion, each) for companion, each, _ in companions]
    _attempt(uow, config, mailer, now, group, preference)
    return len(group)


def _person(recipient: str) -> str:
    """The person a delivery is for: "sup-1#escalation1" is sup-1 again."""
    return recipient.split("#", 1)[0]


def _attempt(
    uow: UnitOfWork,
    config: ChannelConfig,
    mailer: Mailer,
    now: datetime,
    group: list[tuple[Delivery, Notification]],
    preference: Preference | None,
) -> None:
    first, _notification = group[0]
    try:
        _send(config, mailer, first, [n for _, n in group], preference)
    except Exception as error:
        reason = f"{type(error).__name__}: {error}"[:500]
        for delivery, each in group:
            delivery.attempts += 1
            delivery.last_error = reason
            uow.session.add(
                DeliveryAttempt(delivery_id=delivery.id, at=now, succeeded=False, error=reason)
            )
            if delivery.attempts >= domain.MAX_ATTEMPTS:
                delivery.status = "failed"
                DELIVERIES_FAILED.labels(delivery.channel, each.urgency).inc()
                log.error(
                    "notification.delivery_failed",
                    delivery_id=delivery.id,
                    channel=delivery.channel,
                )
                uow.publish(
                    "casehub.notifications.notification.failed.v1",
                    subject=f"notification/{each.id}",
                    data={
                        "notification_id": each.id,
                        "client_id": each.client_id,
                        "urgency": each.urgency,
                        "delivery_id": delivery.id,
                        "recipient": delivery.recipient,
                        "channel": delivery.channel,
                        "attempts": delivery.attempts,
                        "failed_at": now,
                    },
                )
            else:
                delivery.next_attempt_at = now + domain.retry_delay(delivery.attempts)
        return
    for delivery, each in group:
        delivery.attempts += 1
        delivery.status, delivery.delivered_at = "delivered", now
        uow.session.add(DeliveryAttempt(delivery_id=delivery.id, at=now, succeeded=True))
        uow.publish(
            "casehub.notifications.notification.delivered.v1",
            subject=f"notification/{each.id}",
            data={
                "notification_id": each.id,
                "client_id": each.client_id,
                "urgency": each.urgency,
                "delivery_id": delivery.id,
                "recipient": delivery.recipient,
                "channel": delivery.channel,
                "delivered_at": now,
            },
        )


def _send(
    config: ChannelConfig,
    mailer: Mailer,
    delivery: Delivery,
    notifications: list[Notification],
    preference: Preference | None,
) -> None:
    """``preference`` is the person's (read with the delivery); on-call has none."""
    if len(notifications) == 1:
        subject, body = notifications[0].subject, notifications[0].body
    else:
        subject = f"Casehub daily digest: {len(notifications)} items"
        body = (
            "\n\n".join(f"- {n.subject}" for n in notifications)
            + f"\n\nOpen Casehub: {config.app_url}"
        )
    person = _person(delivery.recipient)
    if delivery.channel == domain.Channel.EMAIL:
        if person == "on_call":
            address = config.on_call_email
        elif person == "intake_on_call":
            address = config.intake_on_call_email
        else:
            if preference is None or not preference.email:
                raise LookupError("no email address on file")
            address = preference.email
        mailer.send(address, subject, body, message_id=f"<{delivery.id}@casehub>")
    elif delivery.channel == domain.Channel.WEBHOOK:
        if preference is None or not preference.webhook_url or not preference.webhook_secret:
            raise LookupError("no webhook on file")
        send_webhook(
            config,
            preference.webhook_url,
            preference.webhook_secret,
            {
                "specversion": "1.0",
                "type": "casehub.notifications.notification.v1",
                "source": "/notifications",
                "id": delivery.id,
                "subject": f"notification/{notifications[0].id}",
                "data": {"subject": subject, "body": body, "urgency": notifications[0].urgency},
            },
        )


# -- escalation --------------------------------------------------------------------------------
def escalate_due(uow: UnitOfWork, config: ChannelConfig, now: datetime) -> int:
    """Unacknowledged urgent notifications past their time go to the next level."""
    due = uow.session.scalars(
        select(Notification)
        .where(Notification.acknowledged_at.is_(None), Notification.escalate_at <= now)
        .with_for_update(skip_locked=True)
    ).all()
    for notification in due:
        level = notification.escalation_level + 1
        targets = domain.escalation_targets(level, supervisor_id=notification.supervisor_id)
        rule = uow.session.get(Rule, notification.rule_id)
        notification.escalation_level = level
        notification.escalate_at = (
            now + timedelta(minutes=rule.escalate_after_minutes)
            if targets and rule and rule.escalate_after_minutes and level < 2
            else None
        )
        if not targets:
            continue
        subject, body = render(
            rule.template if rule else "crisis_alert",
            client_reference=notification.client_reference or "(unknown)",
            app_url=config.app_url,
            notification_id=notification.id,
            escalation_level=level,
        )
        for target in targets:
            uow.session.add(
                Delivery(
                    notification_id=notification.id,
                    recipient=f"{target}#escalation{level}"
                    if not domain.is_on_call(target)
                    else target,
                    channel=str(domain.Channel.EMAIL),
                    next_attempt_at=now,
                )
            )
        notification.subject, notification.body = subject, body
        uow.publish(
            "casehub.notifications.notification.escalated.v1",
            subject=f"notification/{notification.id}",
            data={
                "notification_id": notification.id,
                "client_id": notification.client_id,
                "urgency": notification.urgency,
                "level": level,
                "escalated_to": targets,
                "escalated_at": now,
            },
        )
    return len(due)


# -- people ------------------------------------------------------------------------------------
def acknowledge(
    uow: UnitOfWork, actor: Principal, notification_id: str, now: datetime
) -> Notification:
    notification = _visible_notification(uow, actor, notification_id)
    if notification.acknowledged_at is not None:
        raise Conflict("Already acknowledged.", acknowledged_by=notification.acknowledged_by)
    notification.acknowledged_at, notification.acknowledged_by = now, actor.sub
    notification.escalate_at = None
    AUDIT.record(
        uow.session, actor, "acknowledge", "notification", notification.id, notification.client_id
    )
    uow.publish(
        "casehub.notifications.notification.acknowledged.v1",
        subject=f"notification/{notification.id}",
        data={
            "notification_id": notification.id,
            "client_id": notification.client_id,
            "urgency": notification.urgency,
            "acknowledged_by": actor.sub,
            "acknowledged_at": now,
        },
    )
    return notification


def _visible_notification(uow: UnitOfWork, actor: Principal, notification_id: str) -> Notification:
    notification = uow.session.get(Notification, notification_id)
    mine = (
        notification is not None
        and uow.session.scalars(
            select(Delivery.id).where(
                Delivery.notification_id == notification.id,
                or_(Delivery.recipient == actor.sub, Delivery.recipient.like(f"{actor.sub}#%")),
            )
        ).first()
    )
    if notification is None or not (mine or actor.has_any("admin")):
        raise NotFound(f"No notification {notification_id} for you.")
    return notification


def inbox(
    uow: UnitOfWork, actor: Principal, *, unread_only: bool, limit: int, cursor: str | None
) -> Page[tuple[Delivery, Notification]]:
    statement = (
        select(Delivery, Notification)
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(Delivery.recipient == actor.sub, Delivery.channel == domain.Channel.IN_APP)
    )
    if unread_only:
        statement = statement.where(Delivery.read_at.is_(None))
    page = keyset_page(
        uow.session,
        statement,
        [Notification.created_at, Delivery.id],
        limit=limit,
        cursor=cursor,
        rows=True,
        descending=True,
        key_values=lambda row: (row.Notification.created_at, row.Delivery.id),
    )
    items = [(delivery, notification) for delivery, notification in page.items]
    for _delivery, notification in items:  # an alert names a client: reading it is audited
        AUDIT.record(
            uow.session,
            actor,
            "read",
            "notification",
            notification.id,
            notification.client_id,
            via="inbox",
        )
    return Page(items, page.next_cursor)


def mark_read(uow: UnitOfWork, actor: Principal, delivery_id: str, now: datetime) -> Delivery:
    delivery = uow.session.get(Delivery, delivery_id)
    if (
        delivery is None
        or delivery.recipient != actor.sub
        or delivery.channel != domain.Channel.IN_APP
    ):
        raise NotFound(f"No notification {delivery_id} in your inbox.")
    delivery.read_at = delivery.read_at or now
    return delivery


def save_preferences(
    uow: UnitOfWork, actor: Principal, user_id: str, values: Mapping[str, Any]
) -> Preference:
    if user_id != actor.sub and not actor.has_any("admin"):
        raise Forbidden("You may only change your own preferences.")
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
    *,
    status: str | None,
    notification_id: str | None,
    limit: int,
    cursor: str | None,
) -> Page[Delivery]:
    """By next attempt time; a pending delivery retried meanwhile may move to a later page."""
    statement = select(Delivery)
    if status:
        statement = statement.where(Delivery.status == status)
    if notification_id:
        statement = statement.where(Delivery.notification_id == notification_id)
    return keyset_page(
        uow.session, statement, [Delivery.next_attempt_at, Delivery.id], limit=limit, cursor=cursor
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
