"""The crisis path end to end: a high-risk assessment in intake becomes emails to the case
manager and supervisor, through the outbox, the broker, notifications' inbox and a real SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.web import mint_token
from tests.support.backends import Backend
from tests.support.journey import admit_client
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
        json={
            "domains": {"housing": {"rating": "unmet_need"}},
            "phq9": {"items": [3, 3, 3, 3, 3, 3, 3, 3, 3]},
            "cssrs": {
                "wish_to_be_dead": True,
                "suicidal_thoughts": True,
                "method": True,
                "intent": True,
                "plan_with_intent": True,
            },
        },
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
