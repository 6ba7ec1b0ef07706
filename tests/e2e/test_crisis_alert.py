"""The crisis path end to end: a high-risk assessment in intake becomes emails to the case
manager and supervisor, through the outbox, the broker, notifications' inbox and a real SMTP
server; unacknowledged, it escalates (the escalator and dispatcher run at the test's moment)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from services.notifications import operations
from services.notifications.channels import ChannelConfig
from shared.service import ServiceRuntime
from shared.web import mint_token
from tests.support.backends import Backend
from tests.support.journey import admit_client, bearer
from tests.support.mail import Mailbox, start_smtp
from tests.support.platform import wait_until
from tests.support.services import RunningServices

HIGH_RISK = {
    "domains": {"housing": {"rating": "unmet_need"}},
    "phq9": {"items": [3, 3, 3, 3, 3, 3, 3, 3, 3]},
    "cssrs": {
        "wish_to_be_dead": True,
        "suicidal_thoughts": True,
        "method": True,
        "intent": True,
        "plan_with_intent": True,
    },
}


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


def test_high_risk_assessment_emails_case_manager_and_supervisor(
    services: RunningServices, mailbox: Mailbox
) -> None:
    intake, notifications = services["intake"], services["notifications"]
    intake_http, notifications_http = (
        intake.create_app().test_client(),
        notifications.create_app().test_client(),
    )

    def as_(sub: str, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(intake.settings, sub, [role])}"}

    for person in ("cm-1", "sup-1"):
        saved = notifications_http.put(
            f"/users/{person}/preferences",
            headers=as_("admin-1", "admin"),
            json={"email": f"{person}@agency.example", "channels": ["email", "in_app"]},
        )
        assert saved.status_code == 200
    client = admit_client(intake_http, intake.settings)
    assessed = intake_http.post(
        f"/clients/{client['id']}/assessments",
        headers=as_("cm-1", "case_manager"),
        json=HIGH_RISK,
    )
    assert assessed.json["risk_level"] == "high"
    services.start_workers()

    def alerted(person: str) -> bool:
        return any(
            m["Subject"].startswith("URGENT") for m in mailbox.to(f"{person}@agency.example")
        )

    assert wait_until(lambda: alerted("cm-1") and alerted("sup-1"), timeout=45)
    alert = next(m for m in mailbox.to("cm-1@agency.example") if m["Subject"].startswith("URGENT"))
    assert client["reference"] in alert["Subject"]
    body = alert.get_payload()
    assert "Alex" not in body and "Rivera" not in body and "PHQ" not in body


def _escalate_and_send(notifications: ServiceRuntime, at: datetime) -> int:
    """One escalator run and one dispatcher run as the worker makes them, at the test's moment."""
    config = ChannelConfig.from_env()
    with notifications.units_of_work_on_one_connection() as unit_of_work:
        escalated = operations.escalate_due(unit_of_work, config, at)
    with notifications.units_of_work_on_one_connection() as unit_of_work:
        operations.dispatch_due(unit_of_work, config, lambda: at)
    return escalated


def _levels(mailbox: Mailbox, address: str, reference: str) -> list[int]:
    """The escalation level of each urgent email about this client to this address."""
    return [
        int(match[1]) if (match := re.search(r"\(escalation (\d)\)", m.get_payload())) else 0
        for m in mailbox.to(address)
        if m["Subject"] == f"URGENT: crisis alert for client {reference}"
    ]


def _alert_id(mailbox: Mailbox, address: str, reference: str) -> str:
    """The alert's id, from the link in the email (what the on-call person opens)."""
    message = next(m for m in mailbox.to(address) if m["Subject"].endswith(f"client {reference}"))
    return str(re.findall(r"/notifications/([0-9a-f-]{36})", message.get_payload())[0])


def test_unacknowledged_alerts_of_assigned_and_unassigned_clients_escalate_to_on_call(
    services: RunningServices, mailbox: Mailbox
) -> None:
    """An assigned client's alert reminds the supervisor, then on-call; an unassigned client's
    alert (on-call was told at once) reminds on-call twice; on-call acknowledges by its role."""
    intake, notifications = services["intake"], services["notifications"]
    intake_http: FlaskClient = intake.create_app().test_client()
    notifications_http: FlaskClient = notifications.create_app().test_client()
    settings = intake.settings
    for person in ("cm-1", "sup-1"):
        saved = notifications_http.put(
            f"/users/{person}/preferences",
            headers=bearer(settings, "admin-1", "admin"),
            json={"email": f"{person}@agency.example", "channels": ["email", "in_app"]},
        )
        assert saved.status_code == 200
    assigned = admit_client(intake_http, settings)
    unassigned: dict[str, Any] = intake_http.post(
        "/clients",
        headers=bearer(settings, "iw-1", "intake_worker"),
        json={"given_name": "Sam", "family_name": "Okafor", "date_of_birth": "1990-02-03"},
    ).json
    for client, assessor in (
        (assigned, ("cm-1", "case_manager")),
        (unassigned, ("iw-1", "intake_worker")),
    ):
        assessed = intake_http.post(
            f"/clients/{client['id']}/assessments",
            headers=bearer(settings, *assessor),
            json=HIGH_RISK,
        )
        assert assessed.status_code == 201 and assessed.json["risk_level"] == "high"
    ours, theirs = assigned["reference"], unassigned["reference"]
    supervisor, on_call = "sup-1@agency.example", ChannelConfig.from_env().on_call_email
    services.start_workers()
    assert wait_until(
        lambda: (
            _levels(mailbox, supervisor, ours) == [0] and _levels(mailbox, on_call, theirs) == [0]
        ),
        timeout=45,
    )

    later = datetime.now(UTC) + timedelta(minutes=16)
    assert _escalate_and_send(notifications, later) == 2
    assert _levels(mailbox, supervisor, ours) == [0, 1]
    assert _levels(mailbox, on_call, ours) == []
    assert _levels(mailbox, on_call, theirs) == [0, 1]

    alert = _alert_id(mailbox, on_call, theirs)
    outsider = notifications_http.post(
        f"/notifications/{alert}/acknowledge", headers=bearer(settings, "on_call", "case_manager")
    )
    assert outsider.status_code == 404
    acknowledged = notifications_http.post(
        f"/notifications/{alert}/acknowledge", headers=bearer(settings, "dr-night", "on_call")
    )
    assert acknowledged.status_code == 200, acknowledged.json

    assert _escalate_and_send(notifications, later + timedelta(minutes=15)) == 1
    assert _levels(mailbox, on_call, ours) == [2]
    assert _levels(mailbox, on_call, theirs) == [0, 1]  # acknowledged: no further reminder
