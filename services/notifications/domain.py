"""Notification rules as plain functions: who is told, how urgently, when quiet hours hold a
message, how retries back off and where an unacknowledged crisis alert escalates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from shared import rules
from shared.clock import zone_or_none


class Urgency(StrEnum):
    URGENT = "urgent"  # crisis: at once, ignores quiet hours, escalates until acknowledged
    PRIORITY = "priority"  # at once, never held for quiet hours or a digest
    NORMAL = "normal"  # held during the recipient's quiet hours
    LOW = "low"  # may wait for the recipient's daily digest


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    IN_APP = "in_app"


class DeliveryStatus(StrEnum):
    """A delivery waits (pending, retried with backoff), reaches its channel (delivered) or
    is given up after the last attempt (failed)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    #: Not sent and never will be: the client withdrew consent to reminders before it went.
    CANCELLED = "cancelled"


class RecipientRole(StrEnum):
    CASE_MANAGER = "case_manager"
    SUPERVISOR = "supervisor"
    ON_CALL = "on_call"
    INTAKE_ON_CALL = "intake_on_call"
    #: A partner organisation's admin contact, named by the event (``contact_email``).
    PARTNER_ADMIN = "partner_admin"


class RecipientKind(StrEnum):
    """A delivery goes to a person (the ``sub`` of their token), to an on-call address, or to an
    e-mail address outside the agency (``mailto:…``, a partner's admin). They never mix: a
    person whose subject happens to read "on_call" is not the on-call team."""

    PERSON = "person"
    ON_CALL = "on_call"
    ADDRESS = "address"
    #: A client, reached only with their consent, at the address intake announced with it
    #: (looked up when sending, so a withdrawal stops what is still waiting).
    CLIENT = "client"


#: How an outside e-mail address is written as a recipient.
ADDRESS_PREFIX = "mailto:"
#: How a client is written as a recipient (their id: the address is never in the delivery log).
CLIENT_PREFIX = "client:"


ON_CALL_RECIPIENTS = {
    RecipientRole.ON_CALL: "on_call",
    RecipientRole.INTAKE_ON_CALL: "intake_on_call",
}
#: The role that answers for the on-call addresses: its holders may acknowledge what reached them.
ON_CALL_ROLE = "on_call"
MAX_ATTEMPTS = 5
#: The escalation level at which on-call is told (level 1 is the supervisor again).
ON_CALL_LEVEL = 2
#: After that, on-call is reminded at the same interval until someone acknowledges, this many
#: times: an email at 02:00 can be missed, and nobody further up is there to tell (two hours of
#: reminders at the default 15 minutes; operators are alerted after 30, see docs/operations.md).
ON_CALL_REMINDERS = 8
#: The last escalation level: the last reminder to on-call.
LAST_ESCALATION_LEVEL = ON_CALL_LEVEL + ON_CALL_REMINDERS
RISK_FLAGGED = "intake.risk.flagged.v1"


def risk_rule_refusal(event_type: str, urgency: str, changes: dict[str, object]) -> str | None:
    """Why a change to a risk-flag rule is refused, or None. Recipients and channels may be
    tuned, but the rule stays on, and a crisis rule stays urgent (so email, on-call and quiet
    hours ignored) and keeps escalating until someone acknowledges."""
    if event_type != RISK_FLAGGED:
        return None
    if changes.get("active") is False:
        return "A risk-flag rule cannot be switched off: a risk flag must always reach a person."
    if urgency == Urgency.URGENT:
        if "urgency" in changes and changes["urgency"] != Urgency.URGENT:
            return "The crisis alert rule stays urgent: it must not wait for quiet hours."
        if "escalate_after_minutes" in changes and changes["escalate_after_minutes"] is None:
            return "The crisis alert rule keeps escalating until someone acknowledges it."
    return None


#: The order in which due deliveries are sent (lower first): a crisis alert never waits behind
#: routine mail that merely came due earlier.
SENDING_ORDER: dict[str, int] = {
    Urgency.URGENT: 0,
    Urgency.PRIORITY: 1,
    Urgency.NORMAL: 2,
    Urgency.LOW: 3,
}


def resolve_recipients(
    roles: Sequence[str],
    *,
    case_manager_id: str | None,
    supervisor_id: str | None,
    contact_email: str | None = None,
) -> list[str]:
    """Users (or on-call addresses) for the rule's roles. A client with no case manager goes to
    the intake team's on-call and one with no supervisor to on-call, a partner with no admin
    contact to on-call: never nowhere."""
    resolved: list[str] = []
    for role in roles:
        if role == RecipientRole.PARTNER_ADMIN:
            resolved.append(
                ADDRESS_PREFIX + contact_email
                if contact_email
                else ON_CALL_RECIPIENTS[RecipientRole.ON_CALL]
            )
        elif role == RecipientRole.CASE_MANAGER:
            resolved.append(case_manager_id or ON_CALL_RECIPIENTS[RecipientRole.INTAKE_ON_CALL])
        elif role == RecipientRole.SUPERVISOR:
            resolved.append(supervisor_id or ON_CALL_RECIPIENTS[RecipientRole.ON_CALL])
        else:
            resolved.append(ON_CALL_RECIPIENTS[RecipientRole(role)])
    return list(dict.fromkeys(resolved))


def is_on_call(recipient: str) -> bool:
    return recipient in ON_CALL_RECIPIENTS.values()


def is_address(recipient: str) -> bool:
    return recipient.startswith(ADDRESS_PREFIX)


def recipient_kind(recipient: str) -> RecipientKind:
    if recipient.startswith(CLIENT_PREFIX):
        return RecipientKind.CLIENT
    if is_address(recipient):
        return RecipientKind.ADDRESS
    return RecipientKind.ON_CALL if is_on_call(recipient) else RecipientKind.PERSON


def person_zone(name: str) -> ZoneInfo:
    """A person's zone as stored; one that no longer loads (saved before zones were checked, or
    gone from the zone database) reads as UTC rather than failing the event that notifies them
    and everyone else it names."""
    return zone_or_none(name) or ZoneInfo("UTC")


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time
    zone: str = "UTC"

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(person_zone(self.zone)).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # spans midnight

    def ends_after(self, moment: datetime) -> datetime:
        zone = person_zone(self.zone)
        local = moment.astimezone(zone)
        end = datetime.combine(local.date(), self.end, tzinfo=zone)
        if end <= local:
            end += timedelta(days=1)
        return end


def release_time(
    urgency: Urgency | str,
    now: datetime,
    *,
    quiet: QuietHours | None,
    daily_digest_at: time | None,
    zone: str = "UTC",
) -> datetime:
    """When a delivery may go out: urgent and priority at once; normal after quiet hours; low at
    the next digest when the recipient asked for one (else like normal)."""
    urgency = Urgency(urgency)
    if urgency in (Urgency.URGENT, Urgency.PRIORITY):
        return now
    if urgency == Urgency.LOW and daily_digest_at is not None:
        their_zone = person_zone(zone)
        local = now.astimezone(their_zone)
        digest = datetime.combine(local.date(), daily_digest_at, tzinfo=their_zone)
        return digest if digest > local else digest + timedelta(days=1)
    if quiet is not None and quiet.contains(now):
        return quiet.ends_after(now)
    return now


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: 30 s, 1 min, 2 min, 4 min … capped at 30 minutes."""
    return rules.retry_backoff(attempts, cap=timedelta(minutes=30))


def escalation_targets(
    level: int, *, supervisor_id: str | None, supervisor_has_email: bool = True
) -> list[str]:
    """Unacknowledged crisis alert: first the supervisor again, then the on-call address, then
    on-call again at each later level. A reminder is an email: with no supervisor, or none with
    an address on file, on-call gets it, so a reminder never goes nowhere."""
    on_call = ON_CALL_RECIPIENTS[RecipientRole.ON_CALL]
    if level == 1:
        return [supervisor_id if supervisor_id and supervisor_has_email else on_call]
    if ON_CALL_LEVEL <= level <= LAST_ESCALATION_LEVEL:
        return [on_call]
    return []


def on_call_reminder(level: int) -> int:
    """Which reminder to on-call an escalation level is (1 for the first after on-call was
    told), 0 for the levels before."""
    return max(0, level - ON_CALL_LEVEL)


def next_escalation_at(
    level: int, now: datetime, escalate_after_minutes: int | None
) -> datetime | None:
    """When the alert, just escalated to ``level``, escalates again if still unacknowledged."""
    if level >= LAST_ESCALATION_LEVEL or not escalate_after_minutes:
        return None
    return now + timedelta(minutes=escalate_after_minutes)


class ClientChannel(StrEnum):
    """How a client who consented wants their appointment reminders."""

    EMAIL = "email"
    SMS = "sms"


class ReminderStatus(StrEnum):
    """An appointment's reminder waits (pending), goes out once (sent), is called off because the
    appointment was cancelled, moved, missed or attended (cancelled), or was booked too late to
    remind anyone before it began (expired)."""

    PENDING = "pending"
    SENT = "sent"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


#: Reminders go out at this time of the agency's day before the appointment.
REMINDER_TIME = time(9, 0)


def reminder_due_at(starts_at: datetime, zone: ZoneInfo) -> datetime:
    """09:00 on the agency's day before the appointment (its calendar, not the server's or UTC),
    so an appointment at 08:30 Chicago time is reminded on the Chicago day before."""
    day_before = starts_at.astimezone(zone).date() - timedelta(days=1)
    return datetime.combine(day_before, REMINDER_TIME, tzinfo=zone)
