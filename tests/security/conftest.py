"""The four services as an attacker or a curious colleague sees them: every operation their
OpenAPI specs publish, a seeded world of real ids to aim at, and every kind of caller."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from flask import Flask

from shared.config import SERVICE_NAMES, Settings
from shared.web.auth import API_KEY_HEADER, mint_token
from tests.intake.conftest import IntakeApi
from tests.notifications.conftest import NotificationsApi
from tests.planning.conftest import PlanningApi
from tests.referrals.conftest import HOUSING, THERAPY, ReferralsApi
from tests.reporting.conftest import ReportingApi
from tests.reporting.scenario import cohort
from tests.support.backends import embedded_backend
from tests.support.service_api import ServiceApi

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
IW, CM, SUP, ADMIN, PARTNER = "intake_worker", "case_manager", "supervisor", "admin", "partner"
ON_CALL = "on_call"


@dataclass(frozen=True)
class Caller:
    """Someone holding a valid credential: a bearer token for one role, or a partner API key."""

    sub: str
    role: str
    org: str | None = None
    api_key: str | None = None

    def headers(self, settings: Settings) -> dict[str, str]:
        if self.api_key is not None:
            return {API_KEY_HEADER: self.api_key}
        return {
            "Authorization": f"Bearer {mint_token(settings, self.sub, [self.role], org=self.org)}"
        }

    def __str__(self) -> str:
        return f"{self.sub} ({'API key' if self.api_key else self.role})"


#: Who plays each role in the matrix: the people the seeded records belong to.
INSIDERS: dict[str, Caller] = {
    IW: Caller("iw-1", IW),
    CM: Caller("cm-1", CM),
    SUP: Caller("sup-1", SUP),
    ADMIN: Caller("admin-1", ADMIN),
    PARTNER: Caller(f"{HOUSING}-staff", PARTNER, org=HOUSING),
    ON_CALL: Caller("dr-night", ON_CALL),
}
#: Staff with the right role but another caseload, team or intake.
OUTSIDERS = (Caller("cm-2", CM), Caller("sup-2", SUP), Caller("iw-2", IW))


def _claims(settings: Settings, **changes: Any) -> dict[str, Any]:
    """A case manager's genuine claims, changed as an attacker would (``None`` drops a claim)."""
    claims = jwt.decode(mint_token(settings, "cm-1", [CM]), options={"verify_signature": False})
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def _signed(settings: Settings, **changes: Any) -> dict[str, str]:
    return _bearer(jwt.encode(_claims(settings, **changes), settings.jwt_secret, "HS256"))


#: Credentials that must never get in: each answers 401 with a WWW-Authenticate challenge.
BAD_CREDENTIALS: dict[str, Callable[[Settings], dict[str, str]]] = {
    "no token": lambda settings: {},
    "expired token": lambda settings: _bearer(mint_token(settings, "cm-1", [CM], ttl_seconds=-60)),
    "wrong signature": lambda settings: _bearer(
        mint_token(replace(settings, jwt_secret="an-attacker-guessed-this-secret!"), "cm-1", [CM])
    ),
    "alg none": lambda settings: _bearer(jwt.encode(_claims(settings), None, algorithm="none")),
    "wrong audience": lambda settings: _bearer(
        mint_token(replace(settings, jwt_audience="another-app"), "cm-1", [CM])
    ),
    "wrong issuer": lambda settings: _bearer(
        mint_token(replace(settings, jwt_issuer="https://evil.example"), "cm-1", [CM])
    ),
    "no expiry": lambda settings: _signed(settings, exp=None),
    "not valid yet": lambda settings: _signed(settings, nbf=_claims(settings)["iat"] + 3600),
    "roles not a list": lambda settings: _signed(settings, roles="admin"),
    "garbage token": lambda settings: _bearer("not.a.jwt"),
    "basic auth": lambda settings: {"Authorization": "Basic YWRtaW46YWRtaW4="},
    "unknown API key": lambda settings: {API_KEY_HEADER: "chk_deadbeef_not-a-real-key"},
}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class Operation:
    """One operation of a service's published OpenAPI document."""

    service: str
    method: str
    path: str
    required_roles: frozenset[str]
    example: Any

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def parameters(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    def url(self, ids: dict[str, str]) -> str:
        return re.sub(r"{(\w+)}", lambda m: ids.get(m[1], f"no-such-{m[1]}"), self.path)


#: Operations whose credential is a secret in the URL (a calendar app cannot send a bearer
#: token): no roles, and any other secret is a 404 (tests/planning/test_appointments.py).
SECRET_URL: dict[str, set[str]] = {"planning": {"GET /calendar/{secret}.ics"}}


def published_operations(service: str, app: Flask) -> list[Operation]:
    spec = app.test_client().get("/openapi.json").json
    operations = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            operations.append(
                Operation(
                    service,
                    method.upper(),
                    path,
                    frozenset(operation.get("x-required-roles", ())),
                    body.get("example"),
                )
            )
    return operations


_FLASK_PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")
_AS_OPENAPI = r"{\1}"


def routed_operations(app: Flask) -> set[str]:
    """What the app really answers, whether or not the spec mentions it."""
    return {
        f"{method} {_FLASK_PARAMETER.sub(_AS_OPENAPI, rule.rule)}"
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method.lower() in HTTP_METHODS and rule.endpoint != "static"
    }


@dataclass
class SecuredService:
    """A service under test with a seeded world: ``ids`` maps path parameters to real ids."""

    name: str
    api: ServiceApi
    ids: dict[str, str] = field(default_factory=dict)
    #: Strings that identify the seeded client's record wherever they appear.
    markers: set[str] = field(default_factory=set)
    #: Query arguments an operation needs to get past validation.
    queries: dict[str, dict[str, Any]] = field(default_factory=dict)
    partner_keys: dict[str, str] = field(default_factory=dict)
    #: Published operations of this service that are public by design (e.g. a FHIR server's
    #: CapabilityStatement): no credentials, and they name no one.
    public: set[str] = field(default_factory=set)

    @property
    def settings(self) -> Settings:
        return self.api.runtime.settings

    @property
    def app(self) -> Flask:
        return self.api.http.application

    def operations(self) -> list[Operation]:
        """Every operation a bearer token or API key opens (not the public ones, nor those
        behind a secret URL)."""
        secret = SECRET_URL.get(self.name, set())
        return [
            operation
            for operation in published_operations(self.name, self.app)
            if operation.key not in self.public and operation.key not in secret
        ]

    def send(
        self,
        operation: Operation,
        headers: dict[str, str],
        *,
        ids: dict[str, str] | None = None,
        body: Any = None,
    ) -> Any:
        return self.api.http.open(
            operation.url(self.ids if ids is None else ids),
            method=operation.method,
            query_string=self.queries.get(operation.key),
            json=operation.example if body is None else body,
            headers=headers,
        )

    def as_(self, caller: Caller, operation: Operation, **kwargs: Any) -> Any:
        return self.send(operation, caller.headers(self.settings), **kwargs)

    def audit(self, **query: Any) -> list[dict[str, Any]]:
        """The whole audit trail, oldest first, read page by page as an admin."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            response = self.api.http.get(
                "/audit",
                query_string={"limit": 200, **query, **({"cursor": cursor} if cursor else {})},
                headers=INSIDERS[ADMIN].headers(self.settings),
            )
            assert response.status_code == 200, response.json
            items += response.json["items"]
            cursor = response.json["next_cursor"]
            if not cursor:
                return items


def _call(api: ServiceApi, caller: Caller, method: str, path: str, body: Any = None) -> Any:
    response = api.http.open(
        path, method=method, json=body, headers=caller.headers(api.runtime.settings)
    )
    assert response.status_code < 300, (method, path, response.json)
    return response.json


def _seed_intake(api: IntakeApi) -> SecuredService:
    """A client registered by iw-1, on cm-1's caseload in sup-1's team, with every sub-record."""
    api.case_manager("cm-1")
    api.case_manager("cm-2", supervisor="sup-2")
    cm = INSIDERS[CM]
    client = api.register("Zebediah", "Quixote-Marchbanks", confirmed_not_duplicate=True)["id"]
    assert api.assign(client, "cm-1").status_code == 201
    base = f"/clients/{client}"
    assessment = _call(
        api,
        cm,
        "POST",
        f"{base}/assessments",
        {
            "domains": {"housing": {"rating": "unmet_need", "notes": "sleeping in a stairwell"}},
            "phq9": {"items": [0, 0, 0, 0, 0, 0, 0, 0, 1]},
        },
    )
    consent = _call(
        api,
        cm,
        "POST",
        f"{base}/consents",
        {"organization_id": HOUSING, "categories": ["contact_details"], "starts_on": "2026-01-01"},
    )
    person = _call(
        api,
        cm,
        "POST",
        f"{base}/nominated-persons",
        {"name": "Jo Park", "relationship_to_client": "carer"},
    )
    correction = _call(
        api,
        cm,
        "POST",
        f"{base}/corrections",
        {"field": "preferred_language", "requested_value": "Spanish"},
    )
    member = _call(api, cm, "POST", f"{base}/care-team", {"role": "gp", "name": "Dr Amir Patel"})
    medication = _call(api, cm, "POST", f"{base}/medications", {"name": "Sertraline"})
    _call(
        api,
        cm,
        "PUT",
        f"{base}/reminder-consent",
        {"channel": "email", "address": "zq@example.org"},
    )
    ids = {
        "member_id": member["id"],
        "medication_id": medication["id"],
        "client_id": client,
        "correction_id": correction["id"],
        "assessment_id": assessment["id"],
        "flag_id": assessment["risk_flag_id"],
        "consent_id": consent["id"],
        "person_id": person["id"],
        "case_manager_id": "cm-1",
    }
    # sup-1 broke the glass once (emergency access is for clients outside one's team)
    granted = api.http.post(
        f"{base}/emergency-access",
        headers={**INSIDERS[SUP].headers(api.runtime.settings), "X-Purpose": "seeding"},
    )
    assert granted.status_code == 201, granted.json
    return SecuredService("intake", api, ids, markers={client, "Quixote-Marchbanks"})


def _seed_casework(api: PlanningApi, client: str) -> dict[str, str]:
    """cm-1's contact with the client, an appointment, a task, and cm-1 in sup-1's team."""
    api.deliver(
        "intake.case_manager.updated.v1",
        {
            "client_id": client,
            "case_manager_id": "cm-1",
            "team": "north",
            "supervisor_id": "sup-1",
            "caseload_cap": 50,
            "active": True,
            "version": 1,
            "updated_at": "2026-11-30T09:00:00+00:00",
        },
    )
    cm = INSIDERS[CM]
    contact = _call(
        api,
        cm,
        "POST",
        f"/clients/{client}/contacts",
        {
            "contact_type": "phone",
            "occurred_at": "2026-11-01T09:00:00+00:00",
            "duration_minutes": 10,
            "purpose": "Check in",
        },
    )
    appointment = _call(
        api,
        cm,
        "POST",
        f"/clients/{client}/appointments",
        {"starts_at": "2027-01-05T10:00:00+00:00", "location": "Clinic"},
    )
    task = _call(api, cm, "POST", "/tasks", {"title": "Call back", "due_on": "2026-12-01"})
    return {
        "contact_id": contact["id"],
        "appointment_id": appointment["id"],
        "task_id": task["id"],
        "team_id": "north",
    }


def _plan_with_suggestions(api: PlanningApi) -> dict[str, str]:
    """Another plan of cm-1, approved, reassessed with two new unmet needs (two suggested
    changes) and opened for review, where the suggestions are taken up or dismissed."""
    ids = api.new_episode(unmet=["housing"])
    plan = ids["plan_id"]
    api.write_goals(plan)
    approved = api.approve(plan)
    assert approved.status_code == 200, approved.json
    api.deliver(
        "intake.assessment.completed.v1",
        {
            **{k: ids[k] for k in ("client_id", "client_reference", "episode_id")},
            "assessment_id": str(uuid.uuid4()),
            "version": 2,
            "completed_at": datetime.now(UTC),
            "unmet_needs": ["housing", "relationships", "leisure"],
            "risk_level": "none",
        },
    )
    suggestions = [s["id"] for s in api.plan(plan)["suggested_changes"]]
    assert len(suggestions) == 2, suggestions
    opened = api.call("POST", f"/plans/{plan}/start-review")
    assert opened.status_code == 200, opened.json
    return {
        "review_plan_id": plan,
        "suggestion_a": suggestions[0],
        "suggestion_b": suggestions[1],
    }


def _seed_planning(api: PlanningApi) -> SecuredService:
    """A plan of cm-1 (supervised by sup-1), ready for approval, with a goal and a strategy."""
    ids = api.new_episode(unmet=["housing", "income"])
    plan = ids["plan_id"]
    api.write_goals(plan)
    goals = api.plan(plan)["working_version"]["content"]["goals"]
    goal = goals[0]["id"]
    strategy = _call(
        api,
        INSIDERS[CM],
        "POST",
        f"/plans/{plan}/goals/{goal}/strategies",
        {"description": "Apply for housing benefit", "responsible": "client"},
    )
    [strategies] = [
        g["strategies"] for g in strategy["working_version"]["content"]["goals"] if g["id"] == goal
    ]
    now = datetime.now(UTC)
    api.deliver(  # intake's announcement of sup-1's emergency access to the client
        "intake.access.emergency_granted.v1",
        {
            "client_id": ids["client_id"],
            "client_reference": ids["client_reference"],
            "episode_id": ids["episode_id"],
            "grant_id": str(uuid.uuid4()),
            "granted_to": INSIDERS[SUP].sub,
            "roles": [SUP],
            "granted_at": now,
            "expires_at": now + timedelta(hours=12),
        },
    )
    casework = _seed_casework(api, ids["client_id"])
    review = _plan_with_suggestions(api)
    return SecuredService(
        "planning",
        api,
        {
            **ids,
            **casework,
            "goal_id": goal,
            "other_goal_id": goals[1]["id"],
            "strategy_id": strategies[0]["id"],
            "number": "1",
            **review,
        },
        markers={ids["client_id"], plan},
        queries={"GET /plans/{plan_id}/compare": {"older": 1, "newer": 1}},
    )


def _seed_referrals(api: ReferralsApi) -> SecuredService:
    """A referral sent by cm-1 to housing-first and a draft one, a webhook subscription and API
    keys of both partner organisations (one key used by the matrix, one revoked by it)."""
    api.directory()
    client = api.client()
    referral = api.referral(client)
    draft = api.referral(client, send=False)
    admin = INSIDERS[ADMIN]
    keys = {
        org: _call(api, admin, "POST", f"/organizations/{org}/api-keys")
        for org in (HOUSING, THERAPY)
    }
    spare = _call(api, admin, "POST", f"/organizations/{HOUSING}/api-keys")
    subscription = _call(
        api,
        INSIDERS[PARTNER],
        "POST",
        "/partner/webhooks",
        {"url": "https://partner.example/hook", "secret": "partner-secret-0123456789"},
    )
    ids = {
        "client_id": client,
        "referral_id": referral,
        "draft_referral_id": draft,
        "organization_id": HOUSING,
        "service_id": "tenancy",
        "key_id": spare["id"],
        "subscription_id": subscription["id"],
    }
    return SecuredService(
        "referrals",
        api,
        ids,
        markers={client, referral},
        partner_keys={org: key["key"] for org, key in keys.items()},
        public={"GET /fhir/metadata"},
    )


def _seed_notifications(api: NotificationsApi) -> SecuredService:
    """A crisis alert about cm-1's client, in cm-1's and sup-1's inboxes, and one about a client
    nobody carries yet, which went to on-call."""
    for person in ("cm-1", "sup-1", "cm-2", "sup-2", "iw-2"):
        api.person(person)
    api.risk_flagged("high", case_manager="cm-1", supervisor="sup-1")
    unassigned = api.risk_flagged(
        "high", case_manager=None, supervisor=None, client_id="c-2", client_reference="C-2077"
    )
    [on_call_alert] = api.notified[unassigned]
    [item] = _call(api, INSIDERS[CM], "GET", "/me/notifications")["items"]
    rules = _call(api, INSIDERS[ADMIN], "GET", "/rules")["items"]
    return SecuredService(
        "notifications",
        api,
        {
            "notification_id": item["notification_id"],
            "on_call_notification_id": on_call_alert,
            "delivery_id": item["delivery_id"],
            "user_id": "cm-1",
            "rule_id": rules[0]["id"],
        },
        markers={item["client_reference"], "C-2077"},
    )


def _seed_reporting(api: ReportingApi) -> SecuredService:
    """The reporting tests' cohort (team north of sup-north, team south of sup-south): sup-1
    supervises nobody there, so its figures are empty, never another team's."""
    api.deliver(cohort())
    period = {"from": "2026-01-01", "to": "2026-03-31"}
    return SecuredService(
        "reporting",
        api,
        {},
        markers={"client-1", "housing-co", "goals-met"},
        queries={"GET /kpis": period, "GET /reports/funder": period},
    )


SEEDS: dict[str, tuple[type[ServiceApi], Callable[[Any], SecuredService]]] = {
    "intake": (IntakeApi, _seed_intake),
    "planning": (PlanningApi, _seed_planning),
    "referrals": (ReferralsApi, _seed_referrals),
    "notifications": (NotificationsApi, _seed_notifications),
    "reporting": (ReportingApi, _seed_reporting),
}


def start_secured(name: str, data_dir: Path, **settings: Any) -> SecuredService:
    """The service on the embedded backend (SQLite, in-process HTTP), seeded; ``settings``
    change its configuration."""
    api_class, seed = SEEDS[name]
    folder = data_dir / f"{name}-{uuid.uuid4().hex[:6]}"
    folder.mkdir(parents=True)
    return seed(api_class.start(name, embedded_backend(), folder, **settings))


@pytest.fixture(params=SERVICE_NAMES)
def secured(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SecuredService]:
    service = start_secured(request.param, tmp_path)
    yield service
    service.api.runtime.database.dispose()


@pytest.fixture
def referrals_world(tmp_path: Path) -> Iterator[SecuredService]:
    service = start_secured("referrals", tmp_path)
    yield service
    service.api.runtime.database.dispose()
