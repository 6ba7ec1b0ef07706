"""The journey, with every service as its own gunicorn API process and worker process, checked
only through the public APIs and a real SMTP server — on real PostgreSQL + RabbitMQ and on the
embedded default (the same commands the container images run)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.config import SERVICE_NAMES
from tests.support.backends import Backend
from tests.support.mail import Mailbox, start_smtp
from tests.support.platform import wait_until
from tests.support.processes import ProcessPlatform


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    controller, mailbox, port = start_smtp()
    yield mailbox, port
    controller.stop()


@pytest.fixture
def platform(
    backend: Backend, data_dir: Path, mailbox: tuple[Mailbox, int]
) -> Iterator[ProcessPlatform]:
    databases = {name: backend.new_database(name, data_dir) for name in SERVICE_NAMES}
    running = ProcessPlatform(
        backend.broker_url, databases, data_dir, {"NOTIFICATIONS_SMTP_PORT": str(mailbox[1])}
    )
    running.start()
    try:
        for name in SERVICE_NAMES:
            assert wait_until(lambda n=name: running.ready(n), timeout=60), f"{name} not ready"
        yield running
    finally:
        running.stop()


IW, CM, SUP, ADMIN = (
    ("iw-1", "intake_worker"),
    ("cm-1", "case_manager"),
    ("sup-1", "supervisor"),
    ("admin-1", "admin"),
)


@pytest.mark.slow
def test_the_journey_from_intake_to_a_completed_referral(
    platform: ProcessPlatform, mailbox: tuple[Mailbox, int]
) -> None:
    inbox, _ = mailbox
    for person in ("cm-1", "sup-1"):
        assert (
            platform.call(
                "notifications",
                "PUT",
                f"/users/{person}/preferences",
                ADMIN,
                {"email": f"{person}@agency.example"},
            ).status_code
            == 200
        )
    assert platform.call(
        "referrals", "PUT", "/organizations/housing-first", ADMIN, {"name": "Housing First"}
    ).ok
    assert platform.call(
        "referrals",
        "PUT",
        "/services/tenancy",
        ADMIN,
        {"organization_id": "housing-first", "name": "Tenancy support", "domains": ["housing"]},
    ).ok
    assert platform.call(
        "referrals", "PUT", "/organizations/talk-well", ADMIN, {"name": "Talk Well"}
    ).ok
    assert platform.call(
        "intake",
        "PUT",
        "/case-managers/cm-1",
        ADMIN,
        {"display_name": "CM", "team": "north", "supervisor_id": "sup-1"},
    ).ok

    # intake: register with consent for the housing partner, assign, assess (high risk)
    client = platform.call(
        "intake",
        "POST",
        "/clients",
        IW,
        {"given_name": "Alex", "family_name": "Rivera", "date_of_birth": "1988-04-12"},
    ).json()
    assert platform.call(
        "intake", "POST", f"/clients/{client['id']}/assignment", IW, {"case_manager_id": "cm-1"}
    ).ok
    assert platform.call(
        "intake",
        "POST",
        f"/clients/{client['id']}/consents",
        IW,
        {
            "organization_id": "housing-first",
            "categories": ["contact_details"],
            "starts_on": date.today().isoformat(),
        },
    ).ok
    assessed = platform.call(
        "intake",
        "POST",
        f"/clients/{client['id']}/assessments",
        CM,
        {
            "domains": {"housing": {"rating": "unmet_need"}, "income": {"rating": "met_need"}},
            "phq9": {"items": [2, 2, 2, 1, 1, 1, 1, 1, 2]},
            "cssrs": {
                "wish_to_be_dead": True,
                "suicidal_thoughts": True,
                "method": True,
                "intent": True,
                "plan_with_intent": False,
            },
        },
    ).json()
    assert assessed["risk_level"] == "high"
    flagged_at = time.monotonic()

    # notifications: the crisis email reaches the case manager and the supervisor within seconds
    def crisis_email(person: str) -> bool:
        return any(m["Subject"].startswith("URGENT") for m in inbox.to(f"{person}@agency.example"))

    assert wait_until(lambda: crisis_email("cm-1") and crisis_email("sup-1"), timeout=30)
    assert time.monotonic() - flagged_at < 30

    # planning: a draft plan from the unmet needs, which needs a safety plan
    def the_plan() -> Any:
        plans = platform.call("planning", "GET", "/plans", CM, client_id=client["id"]).json()[
            "items"
        ]
        return plans[0] if plans and plans[0]["safety_plan_required"] else None

    assert wait_until(lambda: the_plan() is not None, timeout=30)
    plan = the_plan()
    [goal] = plan["working_version"]["content"]["goals"]
    assert goal["domain"] == "housing"
    path = f"/plans/{plan['id']}"
    assert platform.call(
        "planning",
        "PATCH",
        f"{path}/goals/{goal['id']}",
        CM,
        {
            "in_own_words": "A place of my own",
            "measurable_target": "Tenancy signed",
            "target_date": "2027-06-30",
        },
    ).ok
    assert platform.call(
        "planning",
        "POST",
        f"{path}/goals/{goal['id']}/strategies",
        CM,
        {
            "description": "Tenancy support",
            "type": "referral",
            "responsible": "partner_service",
            "partner_service_id": "tenancy",
        },
    ).ok
    refused = platform.call(
        "planning",
        "POST",
        f"{path}/approve",
        CM,
        {"client_agreed": True, "method": "signed", "present": ["client", "cm-1"]},
    )
    assert refused.status_code == 409  # the safety plan comes first
    assert platform.call(
        "planning",
        "PUT",
        f"{path}/safety-plan",
        CM,
        {
            section: ["agreed with the client"]
            for section in (
                "warning_signs",
                "internal_coping_strategies",
                "distraction_people_and_places",
                "people_to_ask_for_help",
                "professionals_and_crisis_lines",
                "making_environment_safe",
            )
        },
    ).ok
    assert platform.call(
        "planning",
        "POST",
        f"{path}/approve",
        CM,
        {"client_agreed": True, "method": "signed", "present": ["client", "cm-1"]},
    ).ok

    # referrals: the strategy becomes a referral the case manager sends to the housing partner
    assert wait_until(
        lambda: bool(platform.call("referrals", "GET", "/referrals", CM).json()["items"]),
        timeout=30,
    )
    [referral] = platform.call("referrals", "GET", "/referrals", CM).json()["items"]
    assert platform.call("referrals", "POST", f"/referrals/{referral['id']}/send", CM).ok

    # the partner, with its own API key, sees only that referral; another partner sees nothing
    key = platform.call("referrals", "POST", "/organizations/housing-first/api-keys", ADMIN).json()[
        "key"
    ]
    partner = {"X-Api-Key": key}
    listed = requests.get(
        f"{platform.url('referrals')}/partner/referrals", headers=partner, timeout=10
    ).json()["items"]
    assert [r["id"] for r in listed] == [referral["id"]] and listed[0]["packet"] == {}
    other = platform.call(
        "referrals",
        "GET",
        f"/partner/referrals/{referral['id']}",
        ("tw-1", "partner"),
        org="talk-well",
    )
    assert other.status_code == 404
    for move in ({"status": "accepted"}, {"status": "completed", "outcome": "Tenancy signed"}):
        moved = requests.post(
            f"{platform.url('referrals')}/partner/referrals/{referral['id']}/status",
            json=move,
            headers=partner,
            timeout=10,
        )
        assert moved.status_code == 200, moved.json()

    # the case manager is told, and the plan's strategy shows completed
    assert wait_until(
        lambda: any(
            m["Subject"].startswith("Referral update") for m in inbox.to("cm-1@agency.example")
        ),
        timeout=30,
    )
    assert wait_until(
        lambda: (
            set(platform.call("planning", "GET", path, CM).json()["strategy_referrals"].values())
            == {"completed"}
        ),
        timeout=30,
    )
