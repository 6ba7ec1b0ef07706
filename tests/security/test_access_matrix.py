"""The access policy of the whole platform as one reviewable table, checked against what every
service publishes (OpenAPI ``x-required-roles``) and what it enforces (real requests by every
role and every kind of bad credential). A new endpoint fails here until it has a row."""

from __future__ import annotations

from typing import Any

from tests.security.conftest import (
    ADMIN,
    BAD_CREDENTIALS,
    CM,
    INSIDERS,
    IW,
    ON_CALL,
    OUTSIDERS,
    PARTNER,
    SECRET_URL,
    SUP,
    Caller,
    Operation,
    SecuredService,
    published_operations,
    routed_operations,
)

STAFF = {IW, CM, SUP, ADMIN}
READERS = {CM, SUP, ADMIN}
EDITORS = {CM, SUP}
#: Break the glass: on call, and supervisors for clients outside their team, with a stated
#: reason (X-Purpose), time-limited and audited (tests/crisis/test_emergency_access.py).
EMERGENCY = {SUP, ON_CALL}

# -- the access policy: operation -> the roles that may call it ---------------------------------
POLICY: dict[str, dict[str, set[str]]] = {
    "intake": {
        "POST /clients": {IW, SUP, ADMIN},
        "GET /clients": STAFF,
        "GET /clients/{client_id}": STAFF,
        "PATCH /clients/{client_id}": STAFF,
        "POST /clients/{client_id}/discharge": {CM, SUP, ADMIN},
        "POST /clients/{client_id}/readmit": {IW, SUP, ADMIN},
        "POST /clients/{client_id}/nominated-persons": STAFF,
        "DELETE /clients/{client_id}/nominated-persons/{person_id}": STAFF,
        "POST /clients/{client_id}/assignment": {IW, SUP, ADMIN},
        "POST /clients/{client_id}/consents": STAFF,
        "GET /clients/{client_id}/consents": STAFF,
        "GET /clients/{client_id}/record": STAFF,
        "POST /clients/{client_id}/consents/{consent_id}/revoke": STAFF,
        "POST /clients/{client_id}/assessments": STAFF,
        "GET /clients/{client_id}/assessments": STAFF,
        "GET /clients/{client_id}/assessments/{assessment_id}": STAFF,
        "POST /clients/{client_id}/assessments/{assessment_id}/amendments": STAFF,
        "GET /clients/{client_id}/outcomes": STAFF,
        "POST /clients/{client_id}/care-team": STAFF,
        "GET /clients/{client_id}/care-team": STAFF,
        "POST /clients/{client_id}/care-team/{member_id}/end": STAFF,
        "POST /clients/{client_id}/medications": STAFF,
        "GET /clients/{client_id}/medications": STAFF,
        "PATCH /clients/{client_id}/medications/{medication_id}": STAFF,
        "PUT /clients/{client_id}/reminder-consent": STAFF,
        "DELETE /clients/{client_id}/reminder-consent": STAFF,
        "GET /clients/{client_id}/reminder-consent": STAFF,
        "GET /clients/{client_id}/risk-flags": STAFF,
        "POST /clients/{client_id}/risk-flags/{flag_id}/resolve": {CM, SUP},
        "PUT /case-managers/{case_manager_id}": {SUP, ADMIN},
        "GET /case-managers": {IW, SUP, ADMIN},
        "GET /case-managers/{case_manager_id}/caseload": {CM, SUP, ADMIN},
        "POST /clients/{client_id}/emergency-access": EMERGENCY,
        "GET /clients/{client_id}/emergency-access/crisis-picture": EMERGENCY,
        "PUT /clients/{client_id}/legal-hold": {ADMIN},
        "POST /clients/{client_id}/corrections": STAFF,
        "GET /clients/{client_id}/corrections": STAFF,
        "POST /clients/{client_id}/corrections/{correction_id}/decide": {SUP, ADMIN},
        "GET /clients/{client_id}/retention": {ADMIN},
        "GET /duplicate-reviews": {SUP, ADMIN},
        "GET /referral-requests": {IW, SUP, ADMIN},
        "POST /referral-requests/{request_id}/decide": {IW, SUP, ADMIN},
        "POST /duplicate-reviews/{review_id}/resolve": {SUP, ADMIN},
        "GET /privacy/clients/{client_id}/export": {ADMIN},
        "GET /audit": {ADMIN},
    },
    "planning": {
        "GET /plans": READERS,
        "GET /plans/{plan_id}": READERS,
        "GET /plans/{plan_id}/versions": READERS,
        "GET /plans/{plan_id}/versions/{number}": READERS,
        "GET /plans/{plan_id}/compare": READERS,
        "POST /plans/{plan_id}/approve": EDITORS,
        "POST /plans/{plan_id}/start-review": EDITORS,
        "POST /plans/{plan_id}/close": EDITORS,
        "POST /plans/{plan_id}/suggested-changes/{suggestion_id}/take-up": EDITORS,
        "POST /plans/{plan_id}/suggested-changes/{suggestion_id}/dismiss": EDITORS,
        "POST /plans/{plan_id}/goals": EDITORS,
        "PATCH /plans/{plan_id}/goals/{goal_id}": EDITORS,
        "DELETE /plans/{plan_id}/goals/{goal_id}": EDITORS,
        "POST /plans/{plan_id}/goals/{goal_id}/strategies": EDITORS,
        "DELETE /plans/{plan_id}/goals/{goal_id}/strategies/{strategy_id}": EDITORS,
        "PUT /plans/{plan_id}/safety-plan": EDITORS,
        "POST /plans/{plan_id}/goals/{goal_id}/progress-notes": EDITORS,
        "GET /plans/{plan_id}/goals/{goal_id}/progress-notes": READERS,
        "GET /reviews/overdue": READERS,
        "GET /clients/{client_id}/emergency-access/crisis-picture": EMERGENCY,
        "GET /clients/{client_id}/crisis-episodes": READERS,
        "POST /clients/{client_id}/hospital-discharges": EDITORS,
        # on call records what they did under an emergency grant (tests/crisis)
        "POST /crisis-episodes/{crisis_id}/actions": EDITORS | {ON_CALL},
        "POST /crisis-episodes/{crisis_id}/close": EDITORS,
        "GET /follow-ups": READERS,
        "POST /follow-ups/{task_id}/complete": EDITORS,
        "GET /privacy/clients/{client_id}/export": {ADMIN},
        "POST /clients/{client_id}/contacts": EDITORS,
        "GET /clients/{client_id}/contacts": READERS,
        "GET /clients/{client_id}/casework": READERS,
        "GET /contacts/{contact_id}": READERS,
        "PATCH /contacts/{contact_id}": EDITORS,
        "POST /contacts/{contact_id}/sign": EDITORS,
        "POST /contacts/{contact_id}/addenda": EDITORS,
        "POST /clients/{client_id}/appointments": EDITORS,
        "GET /clients/{client_id}/appointments": READERS,
        "GET /appointments/{appointment_id}": READERS,
        "POST /appointments/{appointment_id}/attend": EDITORS,
        "POST /appointments/{appointment_id}/outcome": EDITORS,
        "POST /appointments/{appointment_id}/reschedule": EDITORS,
        "GET /me/appointments": EDITORS,
        "POST /me/calendar-feed": EDITORS,
        "DELETE /me/calendar-feed": EDITORS,
        "POST /tasks": EDITORS,
        "POST /tasks/{task_id}/close": EDITORS,
        "GET /me/worklist": EDITORS,
        "GET /teams/{team_id}/worklist": {SUP, ADMIN},
        "PUT /clients/{client_id}/discharge-summary": EDITORS,
        "GET /clients/{client_id}/discharge-summary": READERS,
        "GET /audit": {ADMIN},
    },
    "referrals": {
        "PUT /organizations/{organization_id}": {ADMIN},
        "GET /organizations": READERS,
        "PUT /services/{service_id}": {ADMIN, PARTNER},
        "GET /services": {CM, SUP, ADMIN, PARTNER},
        "POST /organizations/{organization_id}/api-keys": {ADMIN},
        "POST /api-keys/{key_id}/revoke": {ADMIN},
        "POST /referrals": EDITORS,
        "GET /referrals": READERS,
        "GET /referrals/{referral_id}": READERS,
        "POST /referrals/{referral_id}/send": EDITORS,
        "POST /referrals/{referral_id}/status": EDITORS,
        "PATCH /referrals/{referral_id}": EDITORS,
        "GET /partner/referrals": {PARTNER},
        "GET /partner/referrals/{referral_id}": {PARTNER},
        "POST /partner/referrals/{referral_id}/status": {PARTNER},
        "GET /partner/events": {PARTNER},
        "POST /partner/webhooks": {PARTNER},
        "GET /partner/webhooks": {PARTNER},
        "GET /partner/webhooks/{subscription_id}/deliveries": {PARTNER},
        "POST /partner/webhooks/{subscription_id}/reactivate": {PARTNER},
        "GET /privacy/clients/{client_id}/export": {ADMIN},
        "PATCH /partner/webhooks/{subscription_id}": {PARTNER},
        "DELETE /partner/webhooks/{subscription_id}": {PARTNER},
        "POST /partner/webhooks/{subscription_id}/rotate-secret": {PARTNER},
        "POST /partner/inbound-referrals": {PARTNER},
        "GET /partner/inbound-referrals": {PARTNER},
        "GET /partner/inbound-referrals/{inbound_id}": {PARTNER},
        # the FHIR R4 API: the same partners (its CapabilityStatement, /fhir/metadata, is public)
        "GET /fhir/Task": {PARTNER},
        "GET /fhir/Task/{referral_id}": {PARTNER},
        "PATCH /fhir/Task/{referral_id}": {PARTNER},
        "PUT /fhir/Task/{referral_id}": {PARTNER},
        "GET /fhir/ServiceRequest/{referral_id}": {PARTNER},
        "GET /audit": {ADMIN},
    },
    "notifications": {
        "GET /me/notifications": STAFF,
        "GET /me/notifications/{notification_id}": STAFF,
        "POST /me/notifications/{delivery_id}/read": STAFF,
        "GET /me/preferences": STAFF,
        "PUT /me/preferences": STAFF,
        # on-call acknowledges by role, only what reached on-call (tests/notifications)
        "POST /notifications/{notification_id}/acknowledge": STAFF | {ON_CALL},
        "GET /notifications/on-call": {ON_CALL, ADMIN},
        "GET /notifications/on-call/{notification_id}": {ON_CALL, ADMIN},
        "PUT /users/{user_id}/preferences": {ADMIN},
        "GET /rules": {ADMIN, SUP},
        "PATCH /rules/{rule_id}": {ADMIN},
        "GET /deliveries": {ADMIN, SUP},
        "GET /privacy/clients/{client_id}/export": {ADMIN},
        "GET /audit": {ADMIN},
    },
    # figures only, suppressed, in the caller's teams (the event archive is the broker's)
    "reporting": {
        "GET /kpis": {SUP, ADMIN, "reporting"},
        "GET /reports/funder": {SUP, ADMIN, "reporting"},
        "GET /audit": {ADMIN},
    },
}
#: Public by design in every service: probes, metrics and the API's own documentation (with
#: the Swagger UI files it loads).
PUBLIC = {
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
    "GET /openapi.json",
    "GET /docs",
    "GET /docs/assets/{filename}",
}
#: Path parameters that name (part of) one client's record, or one person's own items.
CLIENT_SCOPED = {
    "client_id",
    "plan_id",
    "referral_id",
    "notification_id",
    "delivery_id",
    "contact_id",
    "appointment_id",
}
CASELOAD_SCOPED = CLIENT_SCOPED | {"case_manager_id"}
#: Operations that name the client in their body rather than their path.
CLIENT_IN_BODY: dict[str, dict[str, Any]] = {
    "POST /referrals": {"client_id": "{client_id}", "service_id": "tenancy", "packet": {}},
}
#: No bearer token presented at all: RFC 6750 says the challenge then carries no error code.
NO_BEARER_TOKEN = {"no token", "basic auth", "unknown API key"}


def _problem(response: Any) -> bool:
    """A refusal in the service's error format: a problem, or an OperationOutcome where the
    FHIR API answers (application/fhir+json)."""
    if response.mimetype == "application/fhir+json":
        return bool(response.json.get("resourceType") == "OperationOutcome")
    return bool(response.content_type == "application/problem+json")


def _required_roles(response: Any) -> set[str]:
    if response.mimetype == "application/fhir+json":  # named in the OperationOutcome's text
        text = response.json["issue"][0]["diagnostics"]
        return set(text.split("roles:", 1)[1].strip(" .").split(", "))
    return set(response.json["required_roles"])


def _callers(service: SecuredService) -> dict[str, Caller]:
    """One insider per role, plus the partner's API key where the service accepts keys."""
    callers = {role: caller for role, caller in INSIDERS.items()}
    for org, key in service.partner_keys.items():
        if org == INSIDERS[PARTNER].org:
            callers["partner API key"] = Caller(f"{org}-machine", PARTNER, org=org, api_key=key)
    return callers


def test_the_policy_table_is_what_each_service_publishes_and_routes(
    secured: SecuredService,
) -> None:
    policy = POLICY[secured.name]
    published = {op.key: op for op in secured.operations()}
    assert set(published) == set(policy), "every operation needs a row in POLICY, and only those"
    drift = {
        key: (sorted(op.required_roles), sorted(policy[key]))
        for key, op in published.items()
        if op.required_roles != policy[key]
    }
    assert drift == {}, "x-required-roles (enforced) differs from POLICY (documented)"
    secret_urls = SECRET_URL.get(secured.name, set())
    assert (
        routed_operations(secured.app) == set(published) | PUBLIC | secured.public | secret_urls
    ), "an unpublished route"
    documented = {op.key: op for op in published_operations(secured.name, secured.app)}
    for key in secret_urls:
        assert key in documented and documented[key].required_roles == frozenset(), key


def test_every_role_gets_exactly_what_the_policy_allows(secured: SecuredService) -> None:
    wrong: list[str] = []
    checked = 0
    for operation in secured.operations():
        allowed = POLICY[secured.name][operation.key]
        for label, caller in _callers(secured).items():
            response = secured.as_(caller, operation)
            checked += 1
            status = response.status_code
            if caller.role in allowed:
                if status in (401, 403) or status >= 500:
                    wrong.append(f"{operation.key} as allowed {label}: {status} {response.json}")
            elif not (
                status == 403 and _problem(response) and _required_roles(response) == allowed
            ):
                wrong.append(f"{operation.key} as denied {label}: {status} {response.json}")
    assert wrong == []
    assert checked >= len(POLICY[secured.name]) * len(INSIDERS)


def test_missing_or_bad_credentials_are_401_on_every_operation(secured: SecuredService) -> None:
    wrong: list[str] = []
    for operation in secured.operations():
        for name, credentials in BAD_CREDENTIALS.items():
            response = secured.send(operation, credentials(secured.settings))
            challenge = response.headers.get("WWW-Authenticate", "")
            if not (
                response.status_code == 401
                and _problem(response)
                and challenge.startswith("Bearer")
            ):
                wrong.append(f"{operation.key} with {name}: {response.status_code}")
            if name not in NO_BEARER_TOKEN and response.status_code == 401:
                assert 'error="invalid_token"' in challenge, (operation.key, name)
    assert wrong == []


def test_probes_metrics_and_docs_are_public(secured: SecuredService) -> None:
    for route in sorted(PUBLIC):
        method, path = route.split(" ")
        path = path.replace("{filename}", "swagger-ui.css")
        response = secured.api.http.open(path, method=method)
        assert response.status_code == 200, (route, response.status_code)
    for route in sorted(secured.public):
        method, path = route.split(" ")
        assert secured.api.http.open(path, method=method).status_code == 200, route


def _in_scope(operation: Operation, caller: Caller) -> bool:
    """Emergency access is meant for those outside the team (with a reason, audited)."""
    if "/emergency-access" in operation.key:
        return False
    return caller.role in operation.required_roles and (
        bool(set(operation.parameters) & CASELOAD_SCOPED) or operation.key in CLIENT_IN_BODY
    )


def _aimed_body(service: SecuredService, operation: Operation) -> Any:
    body = CLIENT_IN_BODY.get(operation.key)
    if body is None:
        return None
    return {k: v.format(**service.ids) if isinstance(v, str) else v for k, v in body.items()}


def test_staff_of_another_caseload_or_team_cannot_reach_a_clients_record(
    secured: SecuredService,
) -> None:
    wrong: list[str] = []
    reached = 0
    for operation in secured.operations():
        for caller in OUTSIDERS:
            if not _in_scope(operation, caller):
                continue
            reached += 1
            response = secured.as_(caller, operation, body=_aimed_body(secured, operation))
            if response.status_code not in (403, 404) or not _problem(response):
                wrong.append(f"{operation.key} as {caller}: {response.status_code}")
    assert wrong == []
    # reporting names no client in a path: its team scope is checked by
    # test_lists_never_show_another_caseloads_records and tests/reporting/test_api.py
    assert reached > 0 or secured.name == "reporting"


def test_lists_never_show_another_caseloads_records(secured: SecuredService) -> None:
    """Whatever a colleague outside the caseload may list, the seeded client is absent from it.

    (Notifications' ``GET /deliveries`` is the delivery log, of a supervisor's team or, for
    admins, of everyone: ids, recipients and channels, but no client reference, name or text;
    tests/notifications/test_delivery_log_scope.py checks the team scope.)"""
    leaks: list[str] = []
    for operation in secured.operations():
        if operation.method != "GET" or operation.parameters:
            continue
        for caller in OUTSIDERS:
            if caller.role not in operation.required_roles:
                continue
            response = secured.as_(caller, operation)
            if response.status_code == 200:
                leaks += [
                    f"{operation.key} as {caller} shows {record}"
                    for record in secured.markers
                    if record in response.get_data(as_text=True)
                ]
    assert leaks == []
