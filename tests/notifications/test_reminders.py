"""Appointment reminders: the agency's day before, to the case manager once however often the
events come, to the client only with their consent (by e-mail, or SMS through the gateway)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from services.notifications import domain
from shared.webhooks import verify
from tests.notifications.conftest import CASE_MANAGER, NotificationsApi

STARTS = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
DAY_BEFORE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 09:00 on the agency's (UTC) day before
CLIENT, REFERENCE = "c-7", "C-1077"
SMS_SECRET = "sms-gateway-secret-0123"


def _appointment(appointment_id: str = "ap-1", starts_at: datetime = STARTS) -> dict[str, Any]:
    return {
        "client_id": CLIENT,
        "client_reference": REFERENCE,
        "episode_id": "e-7",
        "case_manager_id": CASE_MANAGER,
        "appointment_id": appointment_id,
        "starts_at": starts_at,
        "duration_minutes": 60,
        "video": False,
    }


def _scheduled(api: NotificationsApi, appointment_id: str = "ap-1", **kwargs: Any) -> str:
    return api.deliver("planning.appointment.scheduled.v1", _appointment(appointment_id, **kwargs))


def _changed(
    api: NotificationsApi, status: str, appointment_id: str = "ap-1", moved_to: str | None = None
) -> str:
    return api.deliver(
        "planning.appointment.status_changed.v1",
        {
            **_appointment(appointment_id),
            "status": status,
            "rescheduled_to_id": moved_to,
            "at": STARTS - timedelta(days=3),
        },
    )


def _consent(api: NotificationsApi, version: int, channel: str | None, address: str | None) -> str:
    return api.deliver(
        "intake.reminder_consent.changed.v1",
        {
            "client_id": CLIENT,
            "consented": channel is not None,
            "channel": channel,
            "address": address,
            "version": version,
            "changed_at": STARTS - timedelta(days=5),
        },
    )


def _text(mail: Message) -> str:
    return mail.get_payload(decode=True).decode()


def _reminders(api: NotificationsApi) -> list[dict[str, Any]]:
    return [
        d
        for d in api.call("GET", "/deliveries", query={"limit": 100}).json["items"]
        if d["channel"] != "in_app" or d["recipient"] == CASE_MANAGER
    ]


def test_the_case_manager_is_reminded_the_day_before_once_under_redelivery(
    notifications: NotificationsApi,
) -> None:
    notifications.person(CASE_MANAGER)
    event_id = _scheduled(notifications)
    notifications.deliver(
        "planning.appointment.scheduled.v1", _appointment(), event_id=event_id
    )  # redelivered
    _scheduled(notifications)  # and published again under a new id: still one appointment
    assert notifications.remind(DAY_BEFORE - timedelta(minutes=1)) == 0  # not yet
    assert notifications.remind(DAY_BEFORE) == 1
    assert notifications.remind(DAY_BEFORE + timedelta(hours=1)) == 0  # never twice
    _scheduled(notifications)  # a late repeat after sending brings nothing back
    assert notifications.remind(DAY_BEFORE + timedelta(hours=2)) == 0
    notifications.dispatch(DAY_BEFORE)
    [mail] = notifications.mailbox.to(f"{CASE_MANAGER}@agency.example")
    assert REFERENCE in mail["Subject"]
    assert "Wednesday 2 December 2026 at 15:00" in _text(mail)
    [inbox_item] = notifications.call(
        "GET", "/me/notifications", as_=(CASE_MANAGER, "case_manager")
    ).json["items"]
    assert REFERENCE in inbox_item["subject"]


def test_the_day_before_is_the_agencys_day(
    notifications: NotificationsApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """08:30 in Chicago on 2 December is 14:30 UTC; the reminder is due at 09:00 Chicago time
    on 1 December (15:00 UTC), not at 09:00 UTC."""
    monkeypatch.setenv("CASEHUB_TIMEZONE", "America/Chicago")
    notifications.person(CASE_MANAGER)
    _scheduled(notifications, starts_at=datetime(2026, 12, 2, 14, 30, tzinfo=UTC))
    assert notifications.remind(datetime(2026, 12, 1, 14, 59, tzinfo=UTC)) == 0
    assert notifications.remind(datetime(2026, 12, 1, 15, 0, tzinfo=UTC)) == 1
    notifications.dispatch(datetime(2026, 12, 1, 15, 0, tzinfo=UTC))
    [mail] = notifications.mailbox.to(f"{CASE_MANAGER}@agency.example")
    assert "at 08:30" in _text(mail)


@pytest.mark.parametrize("status", ["cancelled", "attended", "no_show"])
def test_a_called_off_appointment_is_never_reminded(
    notifications: NotificationsApi, status: str
) -> None:
    notifications.person(CASE_MANAGER)
    _scheduled(notifications)
    _changed(notifications, status)
    assert notifications.remind(DAY_BEFORE) == 0
    assert notifications.call("GET", "/deliveries").json["items"] == []


def test_a_cancellation_arriving_before_the_booking_still_wins(
    notifications: NotificationsApi,
) -> None:
    _changed(notifications, "cancelled")
    _scheduled(notifications)
    assert notifications.remind(DAY_BEFORE) == 0


def test_a_rescheduled_appointment_is_reminded_for_its_new_time(
    notifications: NotificationsApi,
) -> None:
    notifications.person(CASE_MANAGER)
    _scheduled(notifications)
    later = STARTS + timedelta(days=7)
    _scheduled(notifications, "ap-2", starts_at=later)
    _changed(notifications, "rescheduled", moved_to="ap-2")
    assert notifications.remind(DAY_BEFORE) == 0  # the old day passes quietly
    assert notifications.remind(DAY_BEFORE + timedelta(days=7)) == 1
    notifications.dispatch(DAY_BEFORE + timedelta(days=7))
    [mail] = notifications.mailbox.to(f"{CASE_MANAGER}@agency.example")
    assert "Wednesday 9 December 2026 at 15:00" in _text(mail)


def test_an_appointment_booked_after_its_reminder_time_is_reminded_until_it_starts(
    notifications: NotificationsApi,
) -> None:
    notifications.person(CASE_MANAGER)
    _scheduled(notifications)
    _scheduled(notifications, "ap-3", starts_at=STARTS + timedelta(hours=2))
    assert notifications.remind(STARTS + timedelta(minutes=1)) == 1  # ap-1 began: no reminder


def test_no_client_reminder_without_consent(notifications: NotificationsApi) -> None:
    notifications.person(CASE_MANAGER)
    _scheduled(notifications)
    notifications.remind(DAY_BEFORE)
    notifications.dispatch(DAY_BEFORE)
    kinds = {d["recipient_kind"] for d in _reminders(notifications)}
    assert kinds == {"person"}
    assert len(notifications.mailbox.messages) == 1  # the case manager's e-mail only


def test_a_consenting_client_is_reminded_by_email_without_clinical_detail(
    notifications: NotificationsApi,
) -> None:
    _consent(notifications, 1, "email", "client@home.example")
    _scheduled(notifications)
    notifications.remind(DAY_BEFORE)
    notifications.dispatch(DAY_BEFORE)
    [mail] = notifications.mailbox.to("client@home.example")
    body = _text(mail)
    assert "your case worker" in body and "Wednesday 2 December 2026 at 15:00" in body
    assert REFERENCE not in body + mail["Subject"]
    [to_client] = [d for d in _reminders(notifications) if d["recipient_kind"] == "client"]
    assert to_client["recipient"] == f"client:{CLIENT}"  # the address stays out of the log
    assert to_client["status"] == "delivered"


def test_withdrawn_consent_stops_client_reminders_at_once(
    notifications: NotificationsApi,
) -> None:
    _consent(notifications, 1, "email", "client@home.example")
    _scheduled(notifications)
    _scheduled(notifications, "ap-2", starts_at=STARTS + timedelta(days=7))
    notifications.remind(DAY_BEFORE)  # made, not yet sent
    _consent(notifications, 2, None, None)
    _consent(notifications, 1, "email", "client@home.example")  # a late, older event: ignored
    notifications.dispatch(DAY_BEFORE)
    notifications.remind(DAY_BEFORE + timedelta(days=7))
    notifications.dispatch(DAY_BEFORE + timedelta(days=7))
    assert notifications.mailbox.to("client@home.example") == []
    [cancelled] = [d for d in _reminders(notifications) if d["recipient_kind"] == "client"]
    assert cancelled["status"] == domain.DeliveryStatus.CANCELLED
    assert cancelled["last_error"] == "consent withdrawn"


class _Gateway(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []
    answer = 202

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Gateway.received.append((dict(self.headers), body))
        self.send_response(_Gateway.answer)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Any:
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Gateway.received.clear()
    _Gateway.answer = 202
    monkeypatch.setenv(
        "NOTIFICATIONS_SMS_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/sms"
    )
    monkeypatch.setenv("NOTIFICATIONS_SMS_WEBHOOK_SECRET", SMS_SECRET)
    yield _Gateway
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(  # the gateway listens on 127.0.0.1: the development setting, explicitly
    "notifications", [{"allow_private_webhooks": True}], indirect=True, ids=["loopback-gateway"]
)
def test_an_sms_reminder_reaches_the_gateway_signed(
    notifications: NotificationsApi, gateway: Any
) -> None:
    _consent(notifications, 1, "sms", "+15550142")
    _scheduled(notifications)
    notifications.remind(DAY_BEFORE)
    notifications.dispatch(DAY_BEFORE)
    [(headers, body)] = gateway.received
    assert verify(SMS_SECRET, headers, body)
    payload = json.loads(body)
    assert payload["to"] == "+15550142"
    assert payload["body"] == (
        "Reminder: you have an appointment with your case worker on Wednesday 2 December 2026 "
        "at 15:00. If you cannot make it, please let your case worker know."
    )
    [sms] = [d for d in _reminders(notifications) if d["channel"] == "sms"]
    assert payload["id"] == sms["id"] and sms["status"] == "delivered"


@pytest.mark.parametrize(
    "notifications", [{"allow_private_webhooks": True}], indirect=True, ids=["loopback-gateway"]
)
def test_a_gateway_that_refuses_is_retried_then_fails_visibly(
    notifications: NotificationsApi, gateway: Any
) -> None:
    gateway.answer = 503
    _consent(notifications, 1, "sms", "+15550142")
    _scheduled(notifications)
    notifications.remind(DAY_BEFORE)
    moment = DAY_BEFORE
    for attempt in range(1, domain.MAX_ATTEMPTS + 1):
        notifications.dispatch(moment)
        moment += domain.retry_delay(attempt)
    assert len(gateway.received) == domain.MAX_ATTEMPTS
    [failed] = notifications.call("GET", "/deliveries", query={"status": "failed"}).json["items"]
    assert failed["channel"] == "sms" and failed["last_error"].endswith("delivery failed: HTTP 5xx")


def test_the_gateway_must_be_public_outside_development(
    notifications: NotificationsApi, gateway: Any
) -> None:
    """Without ``allow_private_webhooks`` a loopback gateway is refused by the outbound guard."""
    _consent(notifications, 1, "sms", "+15550142")
    _scheduled(notifications)
    notifications.remind(DAY_BEFORE)
    notifications.dispatch(DAY_BEFORE)
    assert gateway.received == []
    [sms] = [d for d in _reminders(notifications) if d["channel"] == "sms"]
    assert sms["status"] == "pending" and sms["last_error"].endswith("delivery failed")
