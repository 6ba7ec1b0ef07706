"""Figures of the crisis path read when Prometheus scrapes: an alert nobody has acknowledged is
the one thing an on-call team must hear about even when every process is healthy."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from prometheus_client import Gauge
from sqlalchemy import func, select

from services.notifications import domain
from services.notifications.models import Notification
from services.notifications.operations.signals import DELIVERIES_FAILED, ESCALATIONS

if TYPE_CHECKING:
    from shared.service import ServiceRuntime

UNACKNOWLEDGED = Gauge(
    "casehub_crisis_alerts_unacknowledged",
    "Urgent (crisis) notifications nobody has acknowledged yet.",
    multiprocess_mode="mostrecent",
)
OLDEST_UNACKNOWLEDGED = Gauge(
    "casehub_crisis_alert_oldest_unacknowledged_seconds",
    "Age of the oldest unacknowledged crisis alert (0 when there is none).",
    multiprocess_mode="mostrecent",
)

# Every channel and urgency starts at 0, so the first failure is an increase an alert sees
# (a series that appears at 1 has no increase), and the series exist before anything fails.
for _channel in (domain.Channel.EMAIL, domain.Channel.WEBHOOK, domain.ClientChannel.SMS):
    for _urgency in domain.Urgency:
        DELIVERIES_FAILED.labels(_channel.value, _urgency.value)
# Likewise each escalation level, on the worker's /metrics where the escalator runs.
for _level in range(1, domain.LAST_ESCALATION_LEVEL + 1):
    ESCALATIONS.labels(str(_level))


def measure_crisis_alerts(runtime: ServiceRuntime) -> None:
    with runtime.database.read_session() as session:
        count, oldest = session.execute(
            select(func.count(), func.min(Notification.created_at)).where(
                Notification.urgency == domain.Urgency.URGENT,
                Notification.acknowledged_at.is_(None),
            )
        ).one()
    UNACKNOWLEDGED.set(count)
    age = 0.0
    if oldest is not None:
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
        age = max((datetime.now(UTC) - oldest).total_seconds(), 0.0)
    OLDEST_UNACKNOWLEDGED.set(age)
