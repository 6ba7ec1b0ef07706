"""Appointment reminders end to end: the client's consent recorded in intake and an appointment
booked in planning reach notifications through the outbox, the broker and its inbox; the reminder
goes to the case manager and the consenting client by e-mail (a real SMTP server), and a consent
withdrawn in intake stops the next one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path

import pytest
from sqlalchemy import select

from services.notifications import operations
from services.notifications.channels import ChannelConfig
from services.notifications.models import AppointmentReminder, ClientReminderContact
from shared.clock import agency_zone
from shared.service import ServiceRuntime
from tests.support.backends import Backend
from tests.support.journey import admit_client, bearer
from tests.support.mail import Mailbox, start_smtp
from tests.support.platform import wait_until
from tests.support.services import RunningServices


@pytest.fixture
def mailbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    controller, mailbox, port = start_smtp()
    monkeypatch.setenv("NOTIFICATIONS_SMTP_PORT", str(port))
    yield mailbox
    controller.stop()


@pytest.fixture
def services(backend: Backend, data_dir: Path, mailbox: Mailbox) -> Iterator[RunningServices]:
    running = RunningServices(backend, data_dir, ["intake", "planning", "notifications"])
    yield running
    running.shutdown()


def _remind_and_send(notifications: ServiceRuntime, at: datetime) -> int:
    """One reminder run and one dispatcher run as the worker makes them, at the test's moment."""
    config = ChannelConfig.from_env(notifications.outbound)
    with notifications.units_of_work_on_one_connection() as unit_of_work:
        reminded = operations.remind_due(unit_of_work, config, at)
    with notifications.units_of_work_on_one_connection() as unit_of_work:
        operations.dispatch_due(unit_of_work, config, lambda: at)
    return reminded


def _reminders(notifications: ServiceRuntime) -> dict[str, str]:
    with notifications.database.read_session() as session:
        return {r.appointment_id: r.status for r in session.scalars(select(AppointmentReminder))}


def _appointment_mail(mailbox: Mailbox, address: str) -> list[Message]:
    """The reminders among what reached the address (the assignment told cm-1 too)."""
    return [m for m in mailbox.to(address) if m["Subject"].startswith("Appointment")]


def _consented(notifications: ServiceRuntime, client_id: str) -> bool | None:
    with notifications.database.read_session() as session:
        contact = session.get(ClientReminderContact, client_id)
        return None if contact is None else contact.consented


def test_reminders_reach_the_case_manager_and_only_a_consenting_client(
    services: RunningServices, mailbox: Mailbox
) -> None:
    intake, planning, notifications = (
        services["intake"],
        services["planning"],
        services["notifications"],
    )
    intake_http = intake.create_app().test_client()
    planning_http = planning.create_app().test_client()
    settings = intake.settings
    saved = (
        notifications.create_app()
        .test_client()
        .put(
            "/users/cm-1/preferences",
            headers=bearer(settings, "admin-1", "admin"),
            json={"email": "cm-1@agency.example", "channels": ["email", "in_app"]},
        )
    )
    assert saved.status_code == 200
    client = admit_client(intake_http, settings)
    case_manager = bearer(settings, "cm-1", "case_manager")
    consent = intake_http.put(
        f"/clients/{client['id']}/reminder-consent",
        headers=case_manager,
        json={"channel": "email", "address": "alex@home.example"},
    )
    assert consent.status_code == 200, consent.json
    services.start_workers()
    assert wait_until(lambda: _consented(notifications, client["id"]) is True, timeout=45)
    # planning learns who carries the client from intake's case.assigned, through the broker
    appointments = f"/clients/{client['id']}/appointments"
    assert wait_until(
        lambda: planning_http.get(appointments, headers=case_manager).status_code == 200,
        timeout=45,
    )

    zone = agency_zone()
    local_day = (datetime.now(zone) + timedelta(days=3)).date()
    starts = datetime.combine(local_day, datetime.min.time(), tzinfo=zone) + timedelta(hours=15)
    booked = []
    for days in (0, 7):
        response = planning_http.post(
            f"/clients/{client['id']}/appointments",
            headers=case_manager,
            json={
                "starts_at": (starts + timedelta(days=days)).isoformat(),
                "location": "Riverside clinic",
            },
        )
        assert response.status_code == 201, response.json
        booked.append(response.json["id"])
    assert wait_until(lambda: set(_reminders(notifications)) == set(booked), timeout=45)

    day_before = starts - timedelta(hours=6)  # 09:00 on the agency's day before
    assert _remind_and_send(notifications, day_before.astimezone(UTC)) == 1
    [to_case_manager] = _appointment_mail(mailbox, "cm-1@agency.example")
    assert client["reference"] in to_case_manager["Subject"]
    [to_client] = mailbox.to("alex@home.example")
    text = to_client.get_payload(decode=True).decode()
    assert "your case worker" in text
    assert client["reference"] not in text and "Alex" not in text and "Rivera" not in text

    withdrawn = intake_http.delete(
        f"/clients/{client['id']}/reminder-consent", headers=case_manager
    )
    assert withdrawn.status_code == 200
    assert wait_until(lambda: _consented(notifications, client["id"]) is False, timeout=45)
    assert _remind_and_send(notifications, (day_before + timedelta(days=7)).astimezone(UTC)) == 1
    assert len(_appointment_mail(mailbox, "cm-1@agency.example")) == 2
    assert len(mailbox.to("alex@home.example")) == 1  # no reminder after the withdrawal
