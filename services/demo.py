"""Synthetic demo data for ``casehub dev``, created through the services' public APIs (so events
flow exactly as in real use). Names are invented; nothing here is a real person.

Every feature has something to show: clients in each state, active (approved) plans and drafts,
a review due today and one overdue, and crisis alerts already acknowledged, so nothing escalates
by itself a quarter of an hour after ``casehub dev`` starts."""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any, TypeVar

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
ADMIN = ("admin-demo", "admin")
SAFETY_PLAN = {
    "warning_signs": ["Not sleeping, stopping calls to friends"],
    "internal_coping_strategies": ["Walk by the river", "Music"],
    "distraction_people_and_places": ["Sister's flat", "Library café"],
    "people_to_ask_for_help": ["Sister: 555-0101"],
    "professionals_and_crisis_lines": ["Case manager", "Crisis line 988"],
    "making_environment_safe": ["Medication kept by the sister"],
}
#: How long the loader waits for events to reach planning and notifications.
EVENTS_TIMEOUT = 120.0
T = TypeVar("T")
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


@dataclass
class DemoClientRecord:
    id: str
    reference: str
    case_manager: str | None
    high_risk: bool
    discharged: bool


def _eventually(what: str, probe: Callable[[], T | None], deadline: float) -> T:
    """The first answer of ``probe`` that is not None, polled until ``deadline``: events take a
    moment to travel from one service to the next."""
    while True:
        answer = probe()
        if answer is not None:
            return answer
        if time.monotonic() > deadline:
            raise TimeoutError(f"demo data: {what} did not arrive in time")
        time.sleep(0.3)


def load_demo_data(
    settings: Settings,
    clients: int = 60,
    seed: int = 7,
    *,
    urls: Mapping[str, str] | None = None,
    planning: Settings | None = None,
) -> dict[str, int]:
    """A supervised team of four, ~60 clients in varied states, three partners with services,
    plans approved with the clients, a review due and one overdue, crisis alerts acknowledged.
    ``planning`` is the running planning service's configuration (default: this environment's)."""
    demo, rng = DemoClient(settings, urls), random.Random(seed)
    _team_and_partners(demo, rng)
    records = _clients(demo, rng, clients)
    in_care = [r for r in records if r.case_manager and not r.discharged]
    deadline = time.monotonic() + EVENTS_TIMEOUT
    active = _plans(demo, in_care, deadline)
    due, overdue = _reviews_due_and_overdue(planning or Settings.from_env("planning"), active[:2])
    return {
        "clients": len(records),
        "assigned": sum(1 for r in records if r.case_manager),
        "high_risk": sum(1 for r in records if r.high_risk),
        "discharged": sum(1 for r in records if r.discharged),
        "active_plans": len(active),
        "draft_plans": len(in_care) - len(active),
        "reviews_due": due,
        "reviews_overdue": overdue,
        "alerts_acknowledged": _acknowledge_crisis_alerts(demo, records, deadline),
    }


def _team_and_partners(demo: DemoClient, rng: random.Random) -> None:
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
            *ADMIN,
            {"email": f"{person}@demo.casehub.local", "channels": ["email", "in_app"]},
        )
    for org, name, service, domains in PARTNERS:
        demo.call("referrals", "PUT", f"/organizations/{org}", *ADMIN, {"name": name})
        demo.call(
            "referrals",
            "PUT",
            f"/services/{service}",
            *ADMIN,
            {
                "organization_id": org,
                "name": name,
                "domains": domains,
                "languages": ["en"],
                "latitude": 51.5 + rng.random() / 10,
                "longitude": -0.1 - rng.random() / 10,
            },
        )


#: The programmes demo episodes belong to (reporting groups by them).
PROGRAMMES = ("intensive-case-management", "act-team", "housing-first")


def _clients(demo: DemoClient, rng: random.Random, clients: int) -> list[DemoClientRecord]:
    """Registered, most assigned with consent and an assessment, some high risk, some discharged."""
    records = []
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
                "programme": PROGRAMMES[number % len(PROGRAMMES)],
            },
        )
        if number % 6 == 5:  # waiting in intake, unassigned
            records.append(DemoClientRecord(client["id"], client["reference"], None, False, False))
            continue
        cm_id = TEAM[number % len(TEAM)][0]
        demo.call(
            "intake",
            "POST",
            f"/clients/{client['id']}/assignment",
            "iw-demo",
            "intake_worker",
            {"case_manager_id": cm_id},
        )
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
        demo.call(
            "intake",
            "POST",
            f"/clients/{client['id']}/assessments",
            cm_id,
            "case_manager",
            assessment,
        )
        discharged = number % 10 == 9
        if discharged:
            demo.call(
                "intake",
                "POST",
                f"/clients/{client['id']}/discharge",
                cm_id,
                "case_manager",
                {"reason_code": "goals_met"},
            )
        records.append(DemoClientRecord(client["id"], client["reference"], cm_id, high, discharged))
    return records


def _plans(demo: DemoClient, in_care: list[DemoClientRecord], deadline: float) -> list[str]:
    """Planning drafts a plan from each assessment; two in three are then written with the client
    (goals in their own words, a safety plan where the risk asks for one) and approved."""
    approved = []
    for number, record in enumerate(in_care):
        plan = _eventually(
            f"the plan of {record.reference}", partial(_settled_plan, demo, record), deadline
        )
        goals = plan["working_version"]["content"]["goals"]
        if number % 3 == 2 or not goals:
            continue  # left as a draft to write with the client
        owner = (plan["owner_id"], "case_manager")
        for goal in goals:
            demo.call(
                "planning",
                "PATCH",
                f"/plans/{plan['id']}/goals/{goal['id']}",
                *owner,
                {
                    "in_own_words": f"Get my {goal['domain'].replace('_', ' ')} sorted",
                    "measurable_target": "Agreed at the next review",
                    "target_date": (agency_today() + timedelta(days=120)).isoformat(),
                },
            )
        if plan["safety_plan_required"]:
            demo.call("planning", "PUT", f"/plans/{plan['id']}/safety-plan", *owner, SAFETY_PLAN)
        demo.call(
            "planning",
            "POST",
            f"/plans/{plan['id']}/approve",
            *owner,
            {"client_agreed": True, "method": "signed", "present": ["client", owner[0]]},
        )
        approved.append(plan["id"])
    return approved


def _settled_plan(demo: DemoClient, record: DemoClientRecord) -> dict[str, Any] | None:
    """The client's plan once planning has heard of the assignment (and of a high risk)."""
    query = urllib.parse.urlencode({"client_id": record.id})
    items = demo.call("planning", "GET", f"/plans?{query}", *ADMIN)["items"]
    if not items or items[0]["owner_id"] != record.case_manager:
        return None
    plan: dict[str, Any] = items[0]
    return plan if plan["safety_plan_required"] or not record.high_risk else None


def _reviews_due_and_overdue(planning: Settings, plan_ids: list[str]) -> tuple[int, int]:
    """The one thing no API offers is time: two approved plans' next reviews are moved back, as
    if approved months ago (one due today, one two weeks overdue). The planning worker's
    scheduler then announces them like any other due review, within a minute."""
    from sqlalchemy import update

    from services.catalog import runtime_for
    from services.planning.models import Review

    today = agency_today()
    moved = list(zip(plan_ids, (today, today - timedelta(days=14)), strict=False))
    runtime = runtime_for("planning", planning)
    try:
        with runtime.unit_of_work() as uow:
            for plan_id, due_on in moved:
                uow.session.execute(
                    update(Review)
                    .where(Review.plan_id == plan_id, Review.status == "scheduled")
                    .values(due_on=due_on)
                )
    finally:
        runtime.database.dispose()
    return min(len(moved), 1), max(len(moved) - 1, 0)


def _acknowledge_crisis_alerts(
    demo: DemoClient, records: list[DemoClientRecord], deadline: float
) -> int:
    """Each high-risk client's crisis alert, acknowledged by their case manager as if long ago:
    the inbox shows the crisis path, and no alert escalates while someone explores."""
    acknowledged = 0
    for record in (r for r in records if r.high_risk and r.case_manager):
        item = _eventually(
            f"the crisis alert for {record.reference}",
            partial(_crisis_alert, demo, record),
            deadline,
        )
        if item["acknowledged_at"] is None:
            demo.call(
                "notifications",
                "POST",
                f"/notifications/{item['notification_id']}/acknowledge",
                str(record.case_manager),
                "case_manager",
            )
        acknowledged += 1
    return acknowledged


def _crisis_alert(demo: DemoClient, record: DemoClientRecord) -> dict[str, Any] | None:
    inbox = demo.call(
        "notifications",
        "GET",
        "/me/notifications?limit=200",
        str(record.case_manager),
        "case_manager",
    )
    return next(
        (
            item
            for item in inbox["items"]
            if item["urgency"] == "urgent" and item["client_reference"] == record.reference
        ),
        None,
    )
