"""What the notifications use cases signal outside their transaction: the dispatcher's wake-up
channel and the Prometheus counters of failures and escalations."""

from __future__ import annotations

from prometheus_client import Counter

from shared.logging import get_logger

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
