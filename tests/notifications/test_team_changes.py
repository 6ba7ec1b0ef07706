"""A reassignment or a team change in intake reaches notifications through the broker: an
unacknowledged crisis alert escalates to the supervisor responsible now, not the one before, and
a late assignment event never sends a client's alerts back to their former case manager."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.notifications import operations
from services.notifications.channels import ChannelConfig
from shared.contracts import REGISTRY, Event
from tests.notifications.conftest import NOW, NotificationsApi
from tests.support.backends import Backend
from tests.support.journey import admit_client, bearer
from tests.support.mail import Mailbox, start_smtp
from tests.support.platform import inbox_ids, wait_until
from tests.support.service_api import ServiceApi
from tests.support.services import RunningServices

HIGH_RISK = {
    "domains": {"housing": {"rating": "unmet_need"}},
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
    running = RunningServices(backend, data_dir, ["intake", "notifications"])
    yield running
    running.shutdown()


def test_an_unacknowledged_crisis_alert_escalates_to_the_supervisor_responsible_now(
    services: RunningServices,
) -> None:
    intake = services["intake"].create_app().test_client()
    settings = services["intake"].settings
    admin = bearer(settings, "admin-1", "admin")
    notifications = ServiceApi(
        services["notifications"], services["notifications"].create_app().test_client()
    )

    def hire(person: str, supervisor: str) -> None:
        saved = intake.put(
            f"/case-managers/{person}",
            headers=admin,
            json={
                "display_name": person,
                "team": f"team-{supervisor}",
                "supervisor_id": supervisor,
            },
        )
        assert saved.status_code == 200, saved.json

    hire("cm-2", "sup-2")
    reassigned = admit_client(intake, settings, case_manager="cm-1", supervisor="sup-1")
    stays = intake.post(
        "/clients",
        headers=bearer(settings, "iw-1", "intake_worker"),
        json={"given_name": "Sam", "family_name": "Okafor", "date_of_birth": "1979-02-03"},
    ).json
    intake.post(
        f"/clients/{stays['id']}/assignment", headers=admin, json={"case_manager_id": "cm-1"}
    )
    for client in (reassigned, stays):
        flagged = intake.post(
            f"/clients/{client['id']}/assessments",
            headers=bearer(settings, "cm-1", "case_manager"),
            json=HIGH_RISK,
        )
        assert flagged.json["risk_level"] == "high"
    services.start_workers()

    def alerts(person: str) -> list[str]:
        inbox = notifications.call("GET", "/me/notifications", as_=(person, "supervisor")).json[
            "items"
        ]
        return sorted(item["client_reference"] for item in inbox)

    references = sorted([reassigned["reference"], stays["reference"]])
    assert wait_until(lambda: alerts("sup-1") == references, timeout=30)

    # one client goes to cm-2 of sup-2's team; cm-1, who keeps the other, moves to sup-3's team
    moved = intake.post(
        f"/clients/{reassigned['id']}/assignment", headers=admin, json={"case_manager_id": "cm-2"}
    )
    assert moved.status_code == 201, moved.json
    hire("cm-1", "sup-3")
    changes = {
        event["id"]
        for event in ServiceApi(services["intake"], intake).events()
        if event["type"].endswith(("case.assigned.v1", "case_manager.updated.v1"))
    }
    assert wait_until(lambda: changes <= inbox_ids(services["notifications"]), timeout=30)

    for supervisor in ("sup-2", "sup-3"):  # without an email address level 1 goes to on-call
        saved = notifications.call(
            "PUT",
            f"/users/{supervisor}/preferences",
            as_=("admin-1", "admin"),
            json_body={"email": f"{supervisor}@agency.example", "channels": ["email", "in_app"]},
        )
        assert saved.status_code == 200, saved.json
    due = datetime.now(UTC) + timedelta(minutes=16)
    escalations = operations.escalate_due(
        services["notifications"].unit_of_work, ChannelConfig.from_env(), due
    )
    assert escalations == 2
    escalated = {
        event["data"]["client_id"]: event["data"]["escalated_to"]
        for event in notifications.events("notification.escalated.v1")
    }
    assert escalated == {reassigned["id"]: ["sup-2"], stays["id"]: ["sup-3"]}


def _deliver(api: NotificationsApi, routing_key: str, data: dict[str, Any]) -> None:
    """Hand intake's event to notifications' own handler, as its consumer does."""
    event_type = f"casehub.{routing_key}"
    event = Event(
        type=event_type,
        source="/intake",
        subject="client/c-1",
        data=REGISTRY.validate(event_type, data, tolerant=True),
        id=str(uuid.uuid4()),
    )
    with api.runtime.unit_of_work() as uow:
        api.runtime.handlers()[routing_key](event, uow)


def test_a_late_assignment_never_sends_alerts_back_to_the_former_case_manager(
    notifications: NotificationsApi,
) -> None:
    def assigned(case_manager: str, supervisor: str, care_version: int) -> None:
        _deliver(
            notifications,
            "intake.case.assigned.v1",
            {
                "client_id": "c-1",
                "client_reference": "C-1042",
                "episode_id": "e-1",
                "case_manager_id": case_manager,
                "supervisor_id": supervisor,
                "assigned_by": "iw-1",
                "method": "explicit",
                "over_cap": False,
                "assigned_at": NOW,
                "care_version": care_version,
            },
        )

    assigned("cm-3", "sup-3", care_version=2)
    assigned("cm-1", "sup-1", care_version=1)  # arrives late
    notifications.deliver(
        "referrals.referral.completed.v1",
        {
            "referral_id": "r-1",
            "client_id": "c-1",
            "client_reference": "C-1042",
            "organization_id": "housing-first",
            "status": "completed",
            "at": NOW,
        },
    )

    def inbox(person: str) -> list[str]:
        return sorted(
            item["subject"]
            for item in notifications.call(
                "GET", "/me/notifications", as_=(person, "case_manager")
            ).json["items"]
        )

    assert inbox("cm-3") == [
        "New client on your caseload: C-1042",
        "Referral update for client C-1042",
    ]
    assert inbox("cm-1") == []  # neither the late assignment nor the partner's news
