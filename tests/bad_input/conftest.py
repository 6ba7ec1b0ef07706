"""Each service on a fresh database with a little data in it, and a caller for every role.

The fuzzing and malformed-input tests run against every service alike; what differs per
service (which records exist, who may call what) is gathered here, once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from shared.config import SERVICE_NAMES
from shared.contracts import REGISTRY, Event
from tests.intake.conftest import IntakeApi
from tests.notifications.conftest import NotificationsApi
from tests.planning.conftest import PlanningApi
from tests.referrals.conftest import HOUSING, ReferralsApi
from tests.reporting.conftest import ReportingApi
from tests.reporting.scenario import cohort
from tests.support.backends import Backend
from tests.support.mail import start_smtp
from tests.support.service_api import ServiceApi

STAFF_CALLERS: dict[str, tuple[str, ...]] = {
    "intake_worker": ("iw-1", "intake_worker"),
    "case_manager": ("cm-1", "case_manager"),
    "supervisor": ("sup-1", "supervisor"),
    "admin": ("admin-1", "admin"),
}


@dataclass
class SeededService:
    """A running service, the ids of records that exist in it (by path parameter name), and
    the caller who acts in each role (the case manager owns the records, the supervisor
    supervises them, the partner is the organisation they were referred to).

    ``other_states`` replace some of the ids with records in another state (a discharged
    client, a draft and an accepted referral, an active plan, one under review with two
    versions) so that more moves can succeed."""

    name: str
    api: ServiceApi
    records: dict[str, str]
    other_states: list[dict[str, str]] = field(default_factory=list)
    #: Records only one operation uses, where each operation's move ends the record for all
    #: others (an appointment attended, missed or rescheduled stays so): operation -> states.
    own_states: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    callers: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(STAFF_CALLERS))
    api_keys: dict[str, str] = field(default_factory=dict)

    @property
    def record_sets(self) -> list[dict[str, str]]:
        return [self.records, *({**self.records, **state} for state in self.other_states)]

    def record_sets_for(self, operation: str) -> list[dict[str, str]]:
        own = self.own_states.get(operation)
        return [{**self.records, **state} for state in own] if own else self.record_sets

    @property
    def openapi(self) -> dict[str, Any]:
        return self.api.http.get("/openapi.json").json

    def auth_headers(self, role: str, *, api_key: bool = False) -> dict[str, str]:
        """A bearer token for the role; with ``api_key`` also the role's API key, which the
        service checks first (the token stays so the request is valid by the spec)."""
        caller = self.callers[role]
        headers = {"Authorization": f"Bearer {self.api.token(caller[0], *caller[1:])}"}
        if api_key and role in self.api_keys:
            headers["X-Api-Key"] = self.api_keys[role]
        return headers

    def row_counts(self) -> dict[str, int]:
        """Rows in every table of the service's database: a rejected request must change none."""
        engine = self.api.runtime.database.engine
        with engine.connect() as connection:
            return {
                name: connection.execute(
                    sa.select(sa.func.count()).select_from(sa.table(name))
                ).scalar_one()
                for name in sa.inspect(engine).get_table_names()
            }


def _referral_request(api: IntakeApi) -> str:
    """A partner's referral to the agency, as intake receives it from referrals' event."""
    request_id = str(uuid.uuid4())
    event_type = "casehub.referrals.inbound_referral.received.v1"
    data = {
        "inbound_referral_id": request_id,
        "organization_id": "housing-first",
        "given_name": "Sam",
        "family_name": "Okafor",
        "reason": "Asked for support",
        "received_at": datetime.now(UTC),
    }
    event = Event(
        type=event_type,
        source="/referrals",
        subject=f"inbound-referral/{request_id}",
        data=REGISTRY.validate(event_type, data),
        id=str(uuid.uuid4()),
    )
    with api.runtime.unit_of_work() as uow:
        api.runtime.handlers()["referrals.inbound_referral.received.v1"](event, uow)
    return request_id


def _seed_intake(api: IntakeApi) -> SeededService:
    api.case_manager("cm-1")
    api.case_manager("cm-17")  # the one the assignment example names
    unassigned = api.register(given="Sam", family="Lee")
    discharged = api.register(given="Kim", family="Ode")
    gone = api.call(
        "POST",
        f"/clients/{discharged['id']}/discharge",
        as_=("admin-1", "admin"),
        json_body={"reason_code": "goals_met"},
    )
    assert gone.status_code == 200, gone.json
    client = api.register()
    assigned = api.assign(client["id"], "cm-1")
    assert assigned.status_code == 201, assigned.json
    assessment = api.call(
        "POST",
        f"/clients/{client['id']}/assessments",
        json_body={
            "domains": {"housing": {"rating": "unmet_need"}},
            "cssrs": {
                "wish_to_be_dead": True,
                "suicidal_thoughts": True,
                "method": False,
                "intent": True,
                "plan_with_intent": False,
                "behaviour_ever": False,
            },
        },
    )
    assert assessment.status_code == 201, assessment.json
    consent = api.call(
        "POST",
        f"/clients/{client['id']}/consents",
        json_body={
            "organization_id": "housing-first",
            "categories": ["contact_details"],
            "starts_on": "2026-01-01",
        },
    )
    assert consent.status_code == 201, consent.json
    person = api.call(
        "POST",
        f"/clients/{client['id']}/nominated-persons",
        json_body={"name": "Jo Park", "relationship_to_client": "carer", "may_be_told": []},
    )
    assert person.status_code == 201, person.json
    correction = api.call(
        "POST",
        f"/clients/{client['id']}/corrections",
        json_body={"field": "preferred_language", "requested_value": "Spanish"},
    )
    assert correction.status_code == 201, correction.json
    # another desk registers the same person without seeing cm-1's client: a duplicate review
    again = api.call(
        "POST",
        "/clients",
        as_=("iw-2", "intake_worker"),
        json_body={"given_name": "Alex", "family_name": "Rivera", "date_of_birth": "1988-04-12"},
    )
    assert again.status_code == 201, again.json
    [review] = api.call("GET", "/duplicate-reviews", as_=("admin-1", "admin")).json["items"]
    care = {}
    for name, path, body in (
        ("member_id", "care-team", {"role": "gp", "name": "Dr Amir Patel"}),
        ("medication_id", "medications", {"name": "Sertraline"}),
    ):
        made = api.call("POST", f"/clients/{client['id']}/{path}", json_body=body)
        assert made.status_code == 201, made.json
        care[name] = made.json["id"]
    request_id = _referral_request(api)
    return SeededService(
        "intake",
        api,
        {
            "review_id": review["id"],
            "client_id": client["id"],
            "assessment_id": assessment.json["id"],
            "flag_id": assessment.json["risk_flag_id"],
            "consent_id": consent.json["id"],
            "person_id": person.json["id"],
            "correction_id": correction.json["id"],
            "case_manager_id": "cm-1",
            "request_id": request_id,
            **care,
        },
        other_states=[{"client_id": unassigned["id"]}, {"client_id": discharged["id"]}],
    )


def _appointments(api: PlanningApi, client_id: str, count: int) -> list[dict[str, str]]:
    made = []
    for _ in range(count):
        response = api.call(
            "POST",
            f"/clients/{client_id}/appointments",
            json_body={"starts_at": "2026-11-20T10:00:00+00:00", "location": "Clinic"},
        )
        assert response.status_code == 201, response.json
        made.append({"appointment_id": response.json["id"]})
    return made


def _plan_with_a_strategy(api: PlanningApi, *, approved: bool) -> dict[str, str]:
    """A plan whose goals are written with the client (so it may be approved), one goal with a
    referral strategy; approved (active) or still a draft."""
    episode = api.new_episode()
    plan_id = episode["plan_id"]
    goal = api.plan(plan_id)["working_version"]["content"]["goals"][0]
    strategy = api.call(
        "POST",
        f"/plans/{plan_id}/goals/{goal['id']}/strategies",
        json_body={
            "description": "Referral for a tenancy",
            "type": "referral",
            "responsible": "partner_service",
            "partner_service_id": "tenancy",
        },
    )
    assert strategy.status_code == 201, strategy.json
    [goal] = [
        g for g in strategy.json["working_version"]["content"]["goals"] if g["id"] == goal["id"]
    ]
    api.write_goals(plan_id)
    if approved:
        approval = api.approve(plan_id)
        assert approval.status_code == 200, approval.json
    return {
        "client_id": episode["client_id"],
        "plan_id": plan_id,
        "goal_id": goal["id"],
        "strategy_id": goal["strategies"][0]["id"],
        "number": "1",
        **_casework(api, episode["client_id"], signed=approved),
    }


def _casework(api: PlanningApi, client_id: str, *, signed: bool = False) -> dict[str, str]:
    """cm-1's contact with the client, an appointment and a task; cm-1 in team north."""
    api.deliver(
        "intake.case_manager.updated.v1",
        {
            "client_id": client_id,
            "case_manager_id": "cm-1",
            "team": "north",
            "supervisor_id": "sup-1",
            "caseload_cap": 50,
            "active": True,
            "version": 1,
            "updated_at": "2026-11-30T09:00:00+00:00",
        },
    )
    made = {}
    for name, path, body in (
        (
            "contact_id",
            f"/clients/{client_id}/contacts",
            {
                "contact_type": "phone",
                "occurred_at": "2026-11-01T09:00:00+00:00",
                "duration_minutes": 10,
                "purpose": "Check in",
                "note": {"data": "Answered", "assessment": "Settled", "plan": "Call Friday"},
                "sign": signed,
            },
        ),
        (
            "appointment_id",
            f"/clients/{client_id}/appointments",
            {"starts_at": "2026-11-20T10:00:00+00:00", "location": "Clinic"},
        ),
        ("task_id", "/tasks", {"title": "Call back", "due_on": "2026-12-01"}),
    ):
        response = api.call("POST", path, json_body=body)
        assert response.status_code == 201, response.json
        made[name] = response.json["id"]
    return {**made, "team_id": "north"}


#: The new unmet needs of the reassessment of the plan under review: one suggested change each.
SUGGESTED = ("relationships", "leisure", "daily_living_skills", "work_and_education")


def _suggestions(review: dict[str, str], first: int) -> list[dict[str, str]]:
    """Each decision ends a suggestion for every other: take-up and dismiss get their own two."""
    return [{**review, "suggestion_id": review[f"suggestion_{n}"]} for n in (first, first + 1)]


def _plan_under_review(api: PlanningApi) -> dict[str, str]:
    """An approved plan opened for review with its goal changed, so it has a second version to
    compare with the approved one (``older`` and ``newer`` are the compare operation's query)."""
    records = _plan_with_a_strategy(api, approved=True)
    plan_id = records["plan_id"]
    plan = api.plan(plan_id)
    api.deliver(  # a reassessment finds a new unmet need: a suggested change for the review
        "intake.assessment.completed.v1",
        {
            **{k: plan[k] for k in ("client_id", "client_reference", "episode_id")},
            "assessment_id": str(uuid.uuid4()),
            "version": 2,
            "completed_at": datetime.now(UTC),
            "unmet_needs": list(SUGGESTED),
            "risk_level": "none",
        },
    )
    suggestions = [s["id"] for s in api.plan(plan_id)["suggested_changes"]]
    opened = api.call("POST", f"/plans/{plan_id}/start-review")
    assert opened.status_code == 200, opened.json
    changed = api.call(
        "PATCH",
        f"/plans/{plan_id}/goals/{records['goal_id']}",
        json_body={"measurable_target": "Keys to a flat of my own"},
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["current_version"] == 2, changed.json
    return {
        **records,
        "number": "2",
        "older": "1",
        "newer": "2",
        **{f"suggestion_{n}": suggestion for n, suggestion in enumerate(suggestions)},
    }


def _crisis(api: PlanningApi, records: dict[str, str]) -> dict[str, str]:
    """sup-1's emergency grant for the plan's client, and a crisis episode (a high flag) with
    its follow-ups for another client (whose plan then needs a safety plan before approval)."""
    plan = api.plan(records["plan_id"])
    ids = {k: plan[k] for k in ("client_id", "client_reference", "episode_id")}
    other = api.new_episode()
    now = datetime.now(UTC)
    api.deliver(
        "intake.risk.flagged.v1",
        {
            **{k: other[k] for k in ("client_id", "client_reference", "episode_id")},
            "flag_id": str(uuid.uuid4()),
            "assessment_id": str(uuid.uuid4()),
            "level": "high",
            "reasons": ["C-SSRS intent"],
            "case_manager_id": "cm-1",
            "supervisor_id": "sup-1",
            "flagged_at": now,
        },
    )
    api.deliver(
        "intake.access.emergency_granted.v1",
        {
            **ids,
            "grant_id": str(uuid.uuid4()),
            "granted_to": "sup-1",
            "roles": ["supervisor"],
            "granted_at": now,
            "expires_at": now + timedelta(hours=12),
        },
    )
    [crisis] = api.call(
        "GET", f"/clients/{other['client_id']}/crisis-episodes", as_=("admin-1", "admin")
    ).json["items"]
    return {"crisis_id": crisis["id"], "task_id": crisis["follow_ups"][0]["id"]}


def _seed_planning(api: PlanningApi) -> SeededService:
    records = _plan_with_a_strategy(api, approved=False)
    client = records["client_id"]
    # a calendar feed of someone the fuzzer never calls as, so renewing one's own leaves it
    feed = api.call("POST", "/me/calendar-feed", as_=("cm-feed", "case_manager"))
    assert feed.status_code == 201, feed.json
    records["secret"] = feed.json["path"].removeprefix("/calendar/").removesuffix(".ics")
    review = _plan_under_review(api)
    return SeededService(
        "planning",
        api,
        {**records, **_crisis(api, records)},
        other_states=[_plan_with_a_strategy(api, approved=True), review],
        own_states={
            **{
                f"POST /appointments/{{appointment_id}}/{move}": _appointments(api, client, 4)
                for move in ("attend", "outcome", "reschedule")
            },
            **{
                f"POST /plans/{{plan_id}}/suggested-changes/{{suggestion_id}}/{move}": (
                    _suggestions(review, first)
                )
                for move, first in (("take-up", 0), ("dismiss", 2))
            },
        },
    )


def _seed_referrals(api: ReferralsApi) -> SeededService:
    api.directory()
    client_id = api.client()
    referral_id = api.referral(client_id)
    draft_id = api.referral(client_id, send=False)
    accepted_id = api.referral(client_id)
    accepted = api.partner_move(accepted_id, "accepted")
    assert accepted.status_code == 200, accepted.json
    admin = ("admin-1", "admin")
    key = api.call("POST", f"/organizations/{HOUSING}/api-keys", as_=admin)
    assert key.status_code == 201, key.json
    partner = (f"{HOUSING}-staff", "partner", HOUSING)
    subscription = api.call(
        "POST",
        "/partner/webhooks",
        as_=partner,
        json_body={
            "url": "https://partner.example/casehub",
            "secret": "at-least-16-chars-secret",
            "event_types": ["casehub.referrals.referral.sent.v1"],
        },
    )
    assert subscription.status_code == 201, subscription.json
    inbound = api.call(
        "POST",
        "/partner/inbound-referrals",
        as_=partner,
        json_body={"given_name": "Sam", "family_name": "Okafor", "reason": "Asked for support"},
    )
    assert inbound.status_code == 202, inbound.json
    return SeededService(
        "referrals",
        api,
        {
            "client_id": client_id,
            "referral_id": referral_id,
            "organization_id": HOUSING,
            "service_id": "tenancy",
            "key_id": key.json["id"],
            "subscription_id": subscription.json["id"],
            "inbound_id": inbound.json["id"],
        },
        other_states=[{"referral_id": draft_id}, {"referral_id": accepted_id}],
        callers={**STAFF_CALLERS, "partner": partner},
        api_keys={"partner": key.json["key"]},
    )


def _seed_notifications(api: NotificationsApi) -> SeededService:
    for person in ("cm-1", "sup-1"):
        api.person(person)
    api.risk_flagged("high", supervisor=None)  # no supervisor: on-call is told too
    admin = ("admin-1", "admin")
    deliveries = api.call("GET", "/deliveries", as_=admin).json["items"]
    [in_app] = [d for d in deliveries if d["recipient"] == "cm-1" and d["channel"] == "in_app"]
    rules = api.call("GET", "/rules", as_=admin).json["items"]
    return SeededService(
        "notifications",
        api,
        {
            "delivery_id": in_app["id"],
            "notification_id": in_app["notification_id"],
            "user_id": "cm-1",
            "rule_id": rules[0]["id"],
        },
    )


def _seed_reporting(api: ReportingApi) -> SeededService:
    """The hand-computed cohort of the reporting tests: figures with something in them."""
    api.deliver(cohort())
    return SeededService(
        "reporting", api, {}, callers={**STAFF_CALLERS, "reporting": ("analyst", "reporting")}
    )


SEEDERS: dict[str, tuple[type[ServiceApi], Callable[[Any], SeededService]]] = {
    "intake": (IntakeApi, _seed_intake),
    "planning": (PlanningApi, _seed_planning),
    "referrals": (ReferralsApi, _seed_referrals),
    "notifications": (NotificationsApi, _seed_notifications),
    "reporting": (ReportingApi, _seed_reporting),
}
assert set(SEEDERS) == set(SERVICE_NAMES), "every service is fuzzed and fed bad input"


@pytest.fixture(params=SERVICE_NAMES)
def service(
    request: pytest.FixtureRequest,
    backend: Backend,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[SeededService]:
    """One service (parametrized over every one) with seeded records, on the test's backend."""
    controller, _mailbox, port = start_smtp()
    monkeypatch.setenv("NOTIFICATIONS_SMTP_PORT", str(port))
    monkeypatch.setenv("NOTIFICATIONS_ON_CALL_EMAIL", "on-call@agency.example")
    monkeypatch.setenv("NOTIFICATIONS_INTAKE_ON_CALL_EMAIL", "intake-on-call@agency.example")
    api_class, seed = SEEDERS[request.param]
    api = api_class.start(request.param, backend, data_dir)
    try:
        yield seed(api)
    finally:
        controller.stop()
        api.runtime.database.dispose()
