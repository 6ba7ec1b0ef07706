"""The escalator: a crisis alert nobody acknowledged in time goes to the next person up."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import exists, select

from services.notifications import domain
from services.notifications.channels import ChannelConfig, render
from services.notifications.events import NotificationEscalated
from services.notifications.models import (
    ClientCare,
    Delivery,
    Notification,
    Preference,
    Rule,
)
from shared.db import insert_ignoring_duplicates, new_id, signal_on_commit
from shared.errors import NotFound
from shared.pagination import Page, keyset_page
from shared.unit_of_work import AuditedRead, UnitOfWork

if TYPE_CHECKING:
    from shared.identity import Principal
from services.notifications.operations.people import audit_read
from services.notifications.operations.signals import (
    DISPATCH_NOW,
    ESCALATIONS,
    ESCALATIONS_FAILED,
    log,
)


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
    they have no email address), level 2 on-call, each later level reminds on-call. Each step
    is its own delivery row (keyed by the level), so a reminder to someone already told never
    clashes with the first alert."""
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
        client_id=notification.client_id or "",
        escalation_level=level,
        on_call_reminder=domain.on_call_reminder(level),
        on_call_reminders=domain.ON_CALL_REMINDERS,
    )
    rows = {
        target: {
            "id": new_id(),
            "notification_id": notification.id,
            "recipient": target,
            "recipient_kind": str(domain.recipient_kind(target)),
            "escalation_level": level,
            "channel": str(domain.Channel.EMAIL),
            "status": str(domain.DeliveryStatus.PENDING),
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
        client_id=notification.client_id or "",
        escalation_level=level,
        escalated_to=targets,
        already_reached=already_reached,
    )
    uow.publish(
        NotificationEscalated(
            notification_id=notification.id,
            client_id=notification.client_id,
            urgency=notification.urgency,
            level=level,
            escalated_to=targets,
            escalated_at=now,
        )
    )


def _current_supervisor(uow: UnitOfWork, notification: Notification) -> str | None:
    """The supervisor of the client's team now (intake's latest assignment), else the one the
    alert named: a reminder goes to whoever supervises the client when it is sent."""
    care = uow.session.get(ClientCare, notification.client_id) if notification.client_id else None
    if care is not None and care.supervisor_id:
        return care.supervisor_id
    return notification.supervisor_id


#: An alert that went to on-call: escalated there, or with nobody else to tell.
_REACHED_ON_CALL = exists().where(
    Delivery.notification_id == Notification.id,
    Delivery.recipient_kind == domain.RecipientKind.ON_CALL,
)


#: How far back the on-call handover looks: a shift and the one before it.
HANDOVER = timedelta(hours=24)


def on_call_queue(
    read: AuditedRead,
    actor: Principal,
    *,
    limit: int,
    cursor: str | None,
    acknowledged_since: datetime | None = None,
) -> Page[Notification]:
    """Crisis alerts that reached on-call (escalated, or with nobody else to tell) and nobody
    has acknowledged yet, the longest waiting first: what the on-call worker's screen shows.
    With ``acknowledged_since``, the handover instead: those acknowledged since then, the latest
    first, so a shift sees who took what. Each alert shown names a client, so each is audited."""
    urgent_on_call = select(Notification).where(
        Notification.urgency == domain.Urgency.URGENT, _REACHED_ON_CALL
    )
    if acknowledged_since is None:
        page = keyset_page(
            read.session,
            urgent_on_call.where(Notification.acknowledged_at.is_(None)),
            [Notification.created_at, Notification.id],
            limit=limit,
            cursor=cursor,
        )
    else:
        page = keyset_page(
            read.session,
            urgent_on_call.where(Notification.acknowledged_at >= acknowledged_since),
            [Notification.acknowledged_at, Notification.id],
            limit=limit,
            cursor=cursor,
            descending=True,
        )
    for notification in page.items:
        audit_read(read, actor, notification, via="on_call")
    return page


def on_call_alert(read: AuditedRead, actor: Principal, notification_id: str) -> Notification:
    """One crisis alert that reached on-call, acknowledged or not: the page an on-call worker
    opens from the queue or the email says whether it still waits, or who took it and when.
    Any other notification does not exist for on-call (404), as in the inbox."""
    notification = read.session.scalars(
        select(Notification).where(
            Notification.id == notification_id,
            Notification.urgency == domain.Urgency.URGENT,
            _REACHED_ON_CALL,
        )
    ).first()
    if notification is None:
        raise NotFound(f"No crisis alert {notification_id} reached on-call.")
    audit_read(read, actor, notification, via="on_call")
    return notification
