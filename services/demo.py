"""Synthetic demo data for ``casehub dev``, created through the services' public APIs (so events
flow exactly as in real use). Names are invented; nothing here is a real person."""

from __future__ import annotations

import json
import random
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from shared.clock import agency_today
from shared.config import SERVICE_PORTS, Settings
from shared.web.auth import mint_token

GIVEN = [
    "Alex",
    "Sam",
    "Jordan",
    "Taylor",
    "Morgan",
    "Casey",
    "Riley",
    "Jamie",
    "Avery",
    "Quinn",
    "Rowan",
    "Emery",
]
FAMILY = [
    "Rivera",
    "Chen",
    "Okafor",
    "Novak",
    "Haddad",
    "Silva",
    "Kowalski",
    "Nguyen",
    "Mensah",
    "Larsen",
]
TEAM = [
    ("cm-ana", "Ana Ortiz"),
    ("cm-ben", "Ben Adeyemi"),
    ("cm-chloe", "Chloe Park"),
    ("cm-dev", "Dev Sharma"),
]
SUPERVISOR = "sup-maria"
PARTNERS = [
    ("housing-first", "Housing First", "tenancy-support", ["housing"]),
    ("talk-well", "Talk Well Therapy", "cbt-group", ["mental_state", "relationships"]),
    ("work-path", "Work Path", "supported-employment", ["work_and_education", "income"]),
]
DOMAINS = [
    "mental_state",
    "physical_health",
    "substance_use",
    "housing",
    "income",
    "relationships",
    "work_and_education",
    "daily_living_skills",
]


def local_urls(host: str = "127.0.0.1") -> dict[str, str]:
    """Where ``casehub dev`` serves each service."""
    return {name: f"http://{host}:{port}" for name, port in SERVICE_PORTS.items()}


class DemoClient:
    def __init__(self, settings: Settings, urls: Mapping[str, str] | None = None) -> None:
        self.settings, self.urls = settings, urls or local_urls()

    def call(
        self,
        service: str,
        method: str,
        path: str,
        sub: str,
        role: str,
        body: Any = None,
        org: str | None = None,
    ) -> Any:
        token = mint_token(self.settings, sub, [role], org=org)
        request = urllib.request.Request(
            f"{self.urls[service]}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            if error.code == 409:
                return json.loads(error.read())
            raise


def load_demo_data(
    settings: Settings,
    clients: int = 60,
    seed: int = 7,
    *,
    urls: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """A supervised team of four, ~60 clients in varied states, three partners with services."""
    demo, rng = DemoClient(settings, urls), random.Random(seed)
    for cm_id, display in TEAM:
        demo.call(
            "intake",
            "PUT",
            f"/case-managers/{cm_id}",
            "admin-demo",
            "admin",
            {
                "display_name": display,
                "team": "north",
                "supervisor_id": SUPERVISOR,
                "caseload_cap": 20,
            },
        )
    for person in [SUPERVISOR, *(cm for cm, _ in TEAM)]:
        demo.call(
            "notifications",
            "PUT",
            f"/users/{person}/preferences",
            "admin-demo",
            "admin",
            {"email": f"{person}@demo.casehub.local", "channels": ["email", "in_app"]},
        )
    for org, name, service, domains in PARTNERS:
        demo.call(
            "referrals", "PUT", f"/organizations/{org}", "admin-demo", "admin", {"name": name}
        )
        demo.call(
            "referrals",
            "PUT",
            f"/services/{service}",
            "admin-demo",
            "admin",
            {
                "organization_id": org,
                "name": name,
                "domains": domains,
                "languages": ["en"],
                "latitude": 51.5 + rng.random() / 10,
                "longitude": -0.1 - rng.random() / 10,
            },
        )
    counts = {"clients": 0, "assigned": 0, "high_risk": 0, "discharged": 0}
    for number in range(clients):
        client = demo.call(
            "intake",
            "POST",
            "/clients",
            "iw-demo",
            "intake_worker",
            {
                "given_name": rng.choice(GIVEN),
                "family_name": rng.choice(FAMILY),
                "date_of_birth": (
                    date(1960, 1, 1) + timedelta(days=rng.randrange(15000))
                ).isoformat(),
                "confirmed_not_duplicate": True,
            },
        )
        counts["clients"] += 1
        if number % 6 == 5:
            continue  # waiting in intake, unassigned
        cm_id = TEAM[number % len(TEAM)][0]
        demo.call(
            "intake",
            "POST",
            f"/clients/{client['id']}/assignment",
            "iw-demo",
            "intake_worker",
            {"case_manager_id": cm_id},
        )
        counts["assigned"] += 1
        org = PARTNERS[number % len(PARTNERS)][0]
        demo.call(
            "intake",
            "POST",
            f"/clients/{client['id']}/consents",
            cm_id,
            "case_manager",
            {
                "organization_id": org,
                "categories": ["contact_details", "assessment_summary"],
                "starts_on": agency_today().isoformat(),
            },
        )
        high = number % 15 == 0
        assessment: dict[str, Any] = {
            "domains": {
                d: {"rating": rng.choice(["no_need", "met_need", "unmet_need"])}
                for d in rng.sample(DOMAINS, 4)
            },
            "phq9": {"items": [rng.randrange(3) for _ in range(8)] + [1 if high else 0]},
            "gad7": {"items": [rng.randrange(4) for _ in range(7)]},
        }
        if high:
            assessment["cssrs"] = {
                "wish_to_be_dead": True,
                "suicidal_thoughts": True,
                "method": True,
                "intent": True,
                "plan_with_intent": False,
            }
            counts["high_risk"] += 1
        demo.call(
            "intake",
            "POST",
            f"/clients/{client['id']}/assessments",
            cm_id,
            "case_manager",
            assessment,
        )
        if number % 10 == 9:
            demo.call(
                "intake",
                "POST",
                f"/clients/{client['id']}/discharge",
                cm_id,
                "case_manager",
                {"reason_code": "goals_met"},
            )
            counts["discharged"] += 1
    return counts
