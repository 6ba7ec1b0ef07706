"""What notifications records on events: who carries each client, and the notifications and
deliveries the rules make of a notifiable event (the dispatcher sends them)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from services.notifications import domain
from services.notifications.channels import ChannelConfig, render
from services.notifications.models import (
    CARE_TEAM,
    ClientCare,
    Delivery,
    Notification,
    Preference,
    Rule,
)
from shared import tracing
from shared.care_team import supersedes
from shared.contracts import Event
from shared.db import signal_on_commit
from shared.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    pass
from services.notifications.operations.signals import (
    DISPATCH_NOW,
)


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
            client_id=notification.client_id or "",
            escalation_level=0,
            event=data,
        )
        if rule.escalate_after_minutes:
            notification.escalate_at = now + timedelta(minutes=rule.escalate_after_minutes)
        recipients = domain.resolve_recipients(
            rule.recipients,
            case_manager_id=case_manager,
            supervisor_id=supervisor,
            contact_email=data.get("contact_email"),
        )
        deliver(uow, notification, recipients, rule.channels, now)
        created.append(notification)
    return created


def deliver(
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
    people = [r for r in recipients if domain.recipient_kind(r) == domain.RecipientKind.PERSON]
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
                    status=domain.DeliveryStatus.DELIVERED
                    if in_app
                    else domain.DeliveryStatus.PENDING,
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
                status=domain.DeliveryStatus.PENDING,
                delivered_at=None,
            )
        )
        due_now = True
    uow.session.flush()
    if due_now:
        signal_on_commit(uow.session, DISPATCH_NOW)


def _channels_for(recipient: str, preference: Preference | None, wanted: list[str]) -> list[str]:
    if domain.recipient_kind(recipient) != domain.RecipientKind.PERSON:
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
