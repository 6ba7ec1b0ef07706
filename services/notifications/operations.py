"""The notifications service layer: events become notifications and deliveries; a dispatcher
sends them with retries; an escalator chases unacknowledged crisis alerts. Time is passed in."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter
from sqlalchemy import and_, case, exists, or_, select, update

from services.notifications import domain
from services.notifications.channels import ChannelConfig, Mailer, render, send_webhook
from services.notifications.models import (
    AUDIT,
    CARE_TEAM,
    ClientCare,
    Delivery,
    DeliveryAttempt,
    Notification,
    Preference,
    Rule,
)
from shared import tracing
from shared.care_team import supersedes
from shared.contracts import Event
from shared.db import insert_ignoring_duplicates, new_id, signal_on_commit
from shared.dispatch import deliver_one_at_a_time
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.logging import get_logger
from shared.outbound import OutboundGuard, OutboundRefused
from shared.pagination import Page, keyset_page
from shared.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from shared.identity import Principal

log = get_logger(__name__)
#: Wakes the dispatcher when a delivery due now commits (a crisis alert must not wait for
#: the next poll); see ``PeriodicTask.woken_by``.
DISPATCH_NOW = "casehub_notifications_dispatch"

DELIVERIES_FAILED = Counter(
    "casehub_notification_deliveries_failed_total",
    "Deliveries that failed after every retry (each also published as notification.failed)",
    ["channel", "urgency"],
)
ESCALATIONS = Counter(
    "casehub_escalations_total",
    "Unacknowledged crisis alerts escalated, by the level reached",
    ["level"],
)
ESCALATIONS_FAILED = Counter(
    "casehub_escalations_failed_total",
    "Escalations that failed (rolled back, the alert left due for the escalator's next run)",
)


# -- from events -------------------------------------------------------------------------------
def _care(uow: UnitOfWork, data: Mapping[str, Any]) -> ClientCare:
    care = uow.session.get(ClientCare, data["client_id"], with_for_update=True)
    if care is None:
        care = ClientCare(client_id=data["client_id"], client_reference=data["client_reference"])
        uow.session.add(care)
    return care


def _escalate_to(uow: UnitOfWork, client_ids: Any, supervisor_id: str | None) -> None:
    """A crisis alert not yet acknowledged escalates to the supervisor responsible now."""
    uow.session.execute(
        update(Notification)
        .where(
            Notification.client_id.in_(client_ids),
            Notification.acknowledged_at.is_(None),
            Notification.escalate_at.is_not(None),
        )
        .values(supervisor_id=supervisor_id)
    )


def record_assignment(uow: UnitOfWork, data: Mapping[str, Any]) -> bool:
    """Alerts about the client go to the new case manager and their supervisor. A late event (an
    older ``care_version``) changes nothing: False."""
    care = _care(uow, data)
    if not supersedes(data.get("care_version"), care.care_version):
        return False
    care.care_version = data.get("care_version")
    care.case_manager_id = data["case_manager_id"]
    care.supervisor_id = CARE_TEAM.supervisor_of(
        uow.session,
        data["case_manager_id"],
        announced=data.get("supervisor_id"),
        announced_version=data.get("case_manager_version"),
    )
    if care.supervisor_id is not None:
        _escalate_to(uow, [care.client_id], care.supervisor_id)
    return True


def record_discharge(uow: UnitOfWork, data: Mapping[str, Any]) -> None:
    care = _care(uow, data)
    if supersedes(data.get("care_version"), care.care_version):
        care.care_version = data.get("care_version")
        care.case_manager_id = care.supervisor_id = None


def record_team_change(uow: UnitOfWork, data: Mapping[str, Any]) -> None:
    """A case manager moved team: alerts about their clients go to the new supervisor, and so do
    the escalations of those not yet acknowledged."""
    if not CARE_TEAM.record(uow.session, data):
        return
    supervisor_id = data.get("supervisor_id")
    carried = select(ClientCare.client_id).where(
        ClientCare.case_manager_id == data["case_manager_id"]
    )
    if supervisor_id is not None:
        _escalate_to(uow, carried, supervisor_id)
    uow.session.execute(
        update(ClientCare)
        .where(ClientCare.case_manager_id == data["case_manager_id"])
        .values(supervisor_id=supervisor_id)
    )


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
            traceparent=tracing.current_traceparent(),
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
                    recipient_kind=str(domain.recipient_kind(recipient)),
                    escalation_level=0,
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
                recipient=domain.ON_CALL_RECIPIENTS[domain.RecipientRole.ON_CALL],
                recipient_kind=str(domain.RecipientKind.ON_CALL),
                escalation_level=0,
                channel=str(domain.Channel.EMAIL),
                next_attempt_at=now,
                digest=False,
                status="pending",
                delivered_at=None,
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
    with nullcontext(mailer) if mailer is not None else Mailer(config) as open_mailer:
        return deliver_one_at_a_time(
            unit_of_work,
            partial(_dispatch_next, config=config, mailer=open_mailer),
            clock,
            limit=limit,
        )


def _dispatch_next(uow: UnitOfWork, now: datetime, *, config: ChannelConfig, mailer: Mailer) -> int:
    return dispatch_next(uow, config, mailer, now)


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
        .outerjoin(
            Preference,
            and_(
                Preference.user_id == Delivery.recipient,
                Delivery.recipient_kind == domain.RecipientKind.PERSON,
            ),
        )
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
        .order_by(urgency_rank, Delivery.next_attempt_at)
        .with_for_update(skip_locked=True, of=Delivery)
    )
    first = uow.session.execute(due.limit(1)).first()
    if first is None:
        return 0
    delivery, notification, preference = first
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


def _attempt(
    uow: UnitOfWork,
    config: ChannelConfig,
    mailer: Mailer,
    now: datetime,
    group: list[tuple[Delivery, Notification]],
    preference: Preference | None,
) -> None:
    first, notification = group[0]
    try:
        with tracing.span(
            f"send {first.channel}",
            kind=tracing.SpanKind.CLIENT,
            parent=tracing.context_from(notification.traceparent),
            attributes={"casehub.delivery.id": first.id, "casehub.urgency": notification.urgency},
        ):
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
    on_call = delivery.recipient_kind == domain.RecipientKind.ON_CALL
    if delivery.channel == domain.Channel.EMAIL:
        if on_call and delivery.recipient == "intake_on_call":
            address = config.intake_on_call_email
        elif on_call:
            address = config.on_call_email
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
def escalate_due(
    unit_of_work: Callable[[], AbstractContextManager[UnitOfWork]],
    config: ChannelConfig,
    now: datetime,
    *,
    limit: int = 500,
) -> int:
    """Unacknowledged urgent notifications past their time go to the next level, each alert in
    its own transaction (as the dispatcher sends each message): one alert whose escalation fails
    is counted, logged and left due for the next run, and never holds back another."""
    escalated = 0
    failed: set[str] = set()
    while escalated + len(failed) < limit:
        chosen: str | None = None
        try:
            with unit_of_work() as uow:
                notification = _next_due_escalation(uow, now, failed)
                if notification is None:
                    break
                chosen = notification.id
                escalate(uow, notification, config, now)
        except Exception as error:
            if chosen is None:  # finding the next one failed: the database, not an alert
                raise
            failed.add(chosen)
            ESCALATIONS_FAILED.inc()
            log.error(
                "notification.escalation_failed",
                notification_id=chosen,
                error=f"{type(error).__name__}: {error}"[:500],
            )
            continue
        escalated += 1
    return escalated


def _next_due_escalation(uow: UnitOfWork, now: datetime, skip: set[str]) -> Notification | None:
    """The alert longest overdue, locked (another worker's escalator skips it)."""
    statement = select(Notification).where(
        Notification.acknowledged_at.is_(None), Notification.escalate_at <= now
    )
    if skip:
        statement = statement.where(Notification.id.not_in(skip))
    return uow.session.scalars(
        statement.order_by(Notification.escalate_at, Notification.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()


def escalate(
    uow: UnitOfWork, notification: Notification, config: ChannelConfig, now: datetime
) -> None:
    """One step up: level 1 emails the client's supervisor again (on-call if there is none or
    they have no email address), level 2 on-call. Each step is its own delivery row (keyed by the
    level), so a reminder to someone already told never clashes with the first alert."""
    level = notification.escalation_level + 1
    rule = uow.session.get(Rule, notification.rule_id)
    supervisor = _current_supervisor(uow, notification)
    supervisor_email = (
        uow.session.scalar(select(Preference.email).where(Preference.user_id == supervisor))
        if supervisor
        else None
    )
    targets = domain.escalation_targets(
        level, supervisor_id=supervisor, supervisor_has_email=supervisor_email is not None
    )
    notification.escalation_level = level
    notification.escalate_at = domain.next_escalation_at(
        level, now, rule.escalate_after_minutes if rule else None
    )
    if not targets:
        return
    notification.subject, notification.body = render(
        rule.template if rule else "crisis_alert",
        client_reference=notification.client_reference or "(unknown)",
        app_url=config.app_url,
        notification_id=notification.id,
        escalation_level=level,
    )
    rows = {
        target: {
            "id": new_id(),
            "notification_id": notification.id,
            "recipient": target,
            "recipient_kind": str(domain.recipient_kind(target)),
            "escalation_level": level,
            "channel": str(domain.Channel.EMAIL),
            "status": "pending",
            "digest": False,
            "attempts": 0,
            "next_attempt_at": now,
        }
        for target in targets
    }
    created = insert_ignoring_duplicates(
        uow.session, Delivery.__table__, list(rows.values()), Delivery.__table__.c.id
    )
    already_reached = [target for target, row in rows.items() if row["id"] not in created]
    if created:
        signal_on_commit(uow.session, DISPATCH_NOW)
    ESCALATIONS.labels(str(level)).inc()
    log.info(
        "notification.escalated",
        notification_id=notification.id,
        escalation_level=level,
        escalated_to=targets,
        already_reached=already_reached,
    )
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


def _current_supervisor(uow: UnitOfWork, notification: Notification) -> str | None:
    """The supervisor of the client's team now (intake's latest assignment), else the one the
    alert named: a reminder goes to whoever supervises the client when it is sent."""
    care = uow.session.get(ClientCare, notification.client_id) if notification.client_id else None
    if care is not None and care.supervisor_id:
        return care.supervisor_id
    return notification.supervisor_id


# -- people ------------------------------------------------------------------------------------
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
    uow: UnitOfWork, actor: Principal, *, unread_only: bool, limit: int, cursor: str | None
) -> Page[tuple[Delivery, Notification]]:
    statement = (
        select(Delivery, Notification)
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(_delivered_to(actor), Delivery.channel == domain.Channel.IN_APP)
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
