"""The notifications service layer, one module per use case (no Flask; time is passed in):
``from_events`` (events become notifications and deliveries), ``sending`` (the dispatcher),
``escalation`` (unacknowledged crisis alerts), ``reminders`` (appointments, the day before), ``people`` (inbox, acknowledgement, preferences,
rules, the delivery log) and ``signals`` (wake-up channel and counters)."""

from services.notifications.operations.escalation import (
    HANDOVER,
    escalate,
    escalate_due,
    on_call_alert,
    on_call_queue,
)
from services.notifications.operations.from_events import (
    notify,
    record_assignment,
    record_discharge,
    record_team_change,
)
from services.notifications.operations.people import (
    acknowledge,
    attempts_of,
    deliveries,
    inbox,
    inbox_item,
    list_rules,
    mark_read,
    read_preferences,
    save_preferences,
    update_rule,
)
from services.notifications.operations.reminders import (
    record_appointment,
    record_reminder_consent,
    remind_due,
    settle_appointment,
)
from services.notifications.operations.sending import (
    Clock,
    Dispatcher,
    Sender,
    dispatch_due,
    dispatch_next,
)
from services.notifications.operations.signals import (
    DELIVERIES_FAILED,
    DISPATCH_NOW,
    ESCALATIONS,
    ESCALATIONS_FAILED,
)

__all__ = [
    "DELIVERIES_FAILED",
    "DISPATCH_NOW",
    "ESCALATIONS",
    "ESCALATIONS_FAILED",
    "HANDOVER",
    "Clock",
    "Dispatcher",
    "Sender",
    "acknowledge",
    "attempts_of",
    "deliveries",
    "dispatch_due",
    "dispatch_next",
    "escalate",
    "escalate_due",
    "inbox",
    "inbox_item",
    "list_rules",
    "mark_read",
    "notify",
    "on_call_alert",
    "on_call_queue",
    "read_preferences",
    "record_appointment",
    "record_assignment",
    "record_discharge",
    "record_reminder_consent",
    "record_team_change",
    "remind_due",
    "save_preferences",
    "settle_appointment",
    "update_rule",
]
