from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.notifications import operations
from services.notifications.channels import ChannelConfig
from shared.contracts import REGISTRY, Event
from tests.support.backends import Backend
from tests.support.mail import Mailbox, start_smtp
from tests.support.service_api import ServiceApi

CASE_MANAGER, SUPERVISOR = "cm-1", "sup-1"
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
#: Events notifications records without telling anyone at once (the handler does it all).
RECORDED_ONLY = {
    "intake.client.discharged.v1",
    "intake.reminder_consent.changed.v1",
    "planning.appointment.scheduled.v1",
    "planning.appointment.status_changed.v1",
}


@dataclass
class NotificationsApi(ServiceApi):
    mailbox: Mailbox | None = None
    #: event id -> the notifications it became (as the handler returned them)
    notified: dict[str, list[str]] = field(default_factory=dict)

    def deliver(
        self,
        routing_key: str,
        data: dict[str, Any],
        event_id: str | None = None,
        now: datetime = NOW,
    ) -> str:
        """Hand an event to the handler as the consumer does; the clock is the test's."""
        event_type = f"casehub.{routing_key}"
        event = Event(
            type=event_type,
            source=f"/{routing_key.split('.')[0]}",
            subject="client/x",
            data=REGISTRY.validate(event_type, data, tolerant=True),
            id=event_id or str(uuid.uuid4()),
        )
        with self.runtime.unit_of_work() as uow:
            if routing_key in RECORDED_ONLY:
                self.runtime.handlers()[routing_key](event, uow)
            else:
                if routing_key == "intake.case.assigned.v1":
                    operations.record_assignment(uow, event.data)
                created = operations.notify(uow, event, ChannelConfig.from_env(), now)
                self.notified.setdefault(event.id, []).extend(n.id for n in created)
        return event.id

    def dispatch(self, now: datetime | operations.Clock) -> int:
        """One dispatcher run at a fixed moment, or on a clock the test moves during the run."""
        clock = now if callable(now) else lambda: now
        with self.runtime.units_of_work_on_one_connection() as unit_of_work:  # as the worker
            config = ChannelConfig.from_env(self.runtime.outbound)  # as the worker's
            return operations.dispatch_due(unit_of_work, config, clock)

    def remind(self, now: datetime) -> int:
        """One run of the reminder task at the test's moment, as the worker runs it."""
        with self.runtime.units_of_work_on_one_connection() as unit_of_work:
            config = ChannelConfig.from_env(self.runtime.outbound)
            return operations.remind_due(unit_of_work, config, now)

    def escalate(self, now: datetime) -> int:
        """One escalator run at the test's moment, as the worker runs it."""
        with self.runtime.units_of_work_on_one_connection() as unit_of_work:
            return operations.escalate_due(unit_of_work, ChannelConfig.from_env(), now)

    def person(self, user_id: str, **preferences: Any) -> None:
        values = {
            "email": f"{user_id}@agency.example",
            "channels": ["email", "in_app"],
            **preferences,
        }
        response = self.call(
            "PUT", f"/users/{user_id}/preferences", as_=("admin-1", "admin"), json_body=values
        )
        assert response.status_code == 200, response.json

    def case_assigned(
        self,
        client_reference: str = "C-2000",
        now: datetime = NOW,
        *,
        client_id: str = "c-2",
        case_manager: str = CASE_MANAGER,
        supervisor: str | None = SUPERVISOR,
    ) -> str:
        return self.deliver(
            "intake.case.assigned.v1",
            {
                "client_id": client_id,
                "client_reference": client_reference,
                "episode_id": f"e-{client_id}",
                "case_manager_id": case_manager,
                "supervisor_id": supervisor,
                "assigned_by": "iw-1",
                "method": "explicit",
                "over_cap": False,
                "assigned_at": now,
            },
            now=now,
        )

    def risk_flagged(
        self,
        level: str = "high",
        *,
        case_manager: str | None = CASE_MANAGER,
        supervisor: str | None = SUPERVISOR,
        now: datetime = NOW,
        client_id: str = "c-1",
        client_reference: str = "C-1042",
    ) -> str:
        return self.deliver(
            "intake.risk.flagged.v1",
            {
                "client_id": client_id,
                "client_reference": client_reference,
                "episode_id": f"e-{client_id}",
                "flag_id": "f-1",
                "assessment_id": "a-1",
                "level": level,
                "reasons": ["C-SSRS Q4: suicidal intent in the past month"],
                "case_manager_id": case_manager,
                "supervisor_id": supervisor,
                "flagged_at": now,
            },
            now=now,
        )


@pytest.fixture
def notifications(
    backend: Backend,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[NotificationsApi]:
    """``request.param`` may change the service's settings (e.g. allow_private_webhooks)."""
    controller, mailbox, port = start_smtp()
    monkeypatch.setenv("NOTIFICATIONS_SMTP_PORT", str(port))
    monkeypatch.setenv("NOTIFICATIONS_ON_CALL_EMAIL", "on-call@agency.example")
    monkeypatch.setenv("NOTIFICATIONS_INTAKE_ON_CALL_EMAIL", "intake-on-call@agency.example")
    api = NotificationsApi.start(
        "notifications", backend, data_dir, **getattr(request, "param", {})
    )
    api.mailbox = mailbox
    api.default_caller = ("admin-1", "admin")
    yield api
    controller.stop()
    api.runtime.database.dispose()
