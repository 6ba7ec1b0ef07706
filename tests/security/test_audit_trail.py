"""Every read and change of a client record, in every service that holds client data, leaves an
audit row saying who (subject and roles), what, when, under which request and why.

The operations are taken from each service's OpenAPI document: every operation on a path that
names a client's record, plus the collection operations that create or list client records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, inspect, select

from services.catalog import load_spec
from shared.audit import AuditTrail
from shared.migrations import upgrade
from shared.web.request_context import PURPOSE_HEADER, REQUEST_ID_HEADER
from tests.security.conftest import (
    ADMIN,
    CM,
    INSIDERS,
    IW,
    PARTNER,
    SUP,
    Operation,
    SecuredService,
)

#: Path parameters naming a client's record (the notification inbox's delivery_id is a person's
#: own inbox item, and case_manager_id a caseload, which is audited as a whole).
CLIENT_RECORD = {"client_id", "plan_id", "referral_id", "notification_id"}
#: Collection operations that create or list client records.
COLLECTIONS = {
    "intake": {"POST /clients", "GET /clients"},
    "planning": {"GET /plans"},
    "referrals": {"POST /referrals", "GET /referrals", "GET /partner/referrals"},
    "notifications": {"GET /me/notifications"},
    # figures are suppressed aggregates; the event archive is read from the broker, not here
    "reporting": set(),
}
#: Services with client-record operations (reporting serves only suppressed figures).
AUDITED = [name for name, operations in COLLECTIONS.items() if operations]
#: Who performs an operation: the first insider holding a role it requires.
PREFERENCE = (CM, SUP, IW, ADMIN, PARTNER)
#: Requests whose published example cannot succeed on the seeded world as it is.
BODIES: dict[str, Any] = {
    "POST /clients/{client_id}/assignment": {"case_manager_id": "cm-1"},
    "POST /referrals": "{referral}",
    "POST /referrals/{referral_id}/status": {"status": "cancelled", "reason_code": "other"},
    "POST /partner/referrals/{referral_id}/status": {"status": "accepted"},
    "PATCH /referrals/{referral_id}": {"packet": {"contact_details": {"phone": "555-0100"}}},
    # the FHIR API: a Task sent back unchanged is a read (the moves are the partner API's)
    "PATCH /fhir/Task/{referral_id}": [{"op": "test", "path": "/status", "value": "requested"}],
    "PUT /fhir/Task/{referral_id}": {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
    },
}
#: Operations aimed at another seeded record than the path parameter's usual one.
ALIASES: dict[str, dict[str, str]] = {
    "GET /notifications/on-call/{notification_id}": {"notification_id": "on_call_notification_id"},
    "POST /referrals/{referral_id}/send": {"referral_id": "draft_referral_id"},
    "PATCH /referrals/{referral_id}": {"referral_id": "draft_referral_id"},
    "DELETE /plans/{plan_id}/goals/{goal_id}": {"goal_id": "other_goal_id"},
    # a reassessment's suggested changes are decided on a plan under review, each once
    "POST /plans/{plan_id}/suggested-changes/{suggestion_id}/take-up": {
        "plan_id": "review_plan_id",
        "suggestion_id": "suggestion_a",
    },
    "POST /plans/{plan_id}/suggested-changes/{suggestion_id}/dismiss": {
        "plan_id": "review_plan_id",
        "suggestion_id": "suggestion_b",
    },
}
#: Order that keeps the seeded record alive to the end: reads, then changes, then endings.
LAST = (
    "DELETE",
    "/discharge",
    "/readmit",
    "/assignment",
    "/approve",
    "/progress-notes",
    "/start-review",
    "/close",
    "/referrals/{referral_id}/status",
)


def _client_record_operations(service: SecuredService) -> list[Operation]:
    chosen = [
        op
        for op in service.operations()
        if set(op.parameters) & CLIENT_RECORD or op.key in COLLECTIONS[service.name]
    ]

    def order(op: Operation) -> tuple[int, int, int, str]:
        ending = next((n for n, word in enumerate(LAST) if word in op.key), -1)
        innermost_first = -len(op.path) if op.method == "DELETE" else 0
        return (ending, op.method != "GET", innermost_first, op.key)

    return sorted(chosen, key=order)


def _body(service: SecuredService, operation: Operation) -> Any:
    body = BODIES.get(operation.key, operation.example)
    if body == "{referral}":
        return {"client_id": service.ids["client_id"], "service_id": "tenancy", "packet": {}}
    return body


@pytest.mark.parametrize("secured", AUDITED, indirect=True)
def test_every_client_record_operation_leaves_an_audit_row_with_who_what_when_and_why(
    secured: SecuredService,
) -> None:
    started = datetime.now(UTC) - timedelta(seconds=1)
    operations = _client_record_operations(secured)
    assert operations, "the service has client-record operations"
    unaudited: list[str] = []
    for number, operation in enumerate(operations):
        caller = next(INSIDERS[r] for r in PREFERENCE if r in operation.required_roles)
        purpose = f"security suite check {number}: {operation.key}"
        request_id = f"audit-check-{secured.name}-{number}"
        response = secured.send(
            operation,
            {
                **caller.headers(secured.settings),
                PURPOSE_HEADER: purpose,
                REQUEST_ID_HEADER: request_id,
            },
            ids={
                **secured.ids,
                **{p: secured.ids[i] for p, i in ALIASES.get(operation.key, {}).items()},
            },
            body=_body(secured, operation),
        )
        assert response.status_code < 300, (operation.key, str(caller), response.json)
        rows = [row for row in secured.audit() if row["purpose"] == purpose]
        if not rows:
            unaudited.append(operation.key)
            continue
        for row in rows:
            assert row["actor"] == caller.sub and row["roles"] == [caller.role], row
            assert row["correlation_id"] == request_id, row
            assert row["action"] and row["entity"], row
            assert datetime.fromisoformat(row["at"]) >= started, row
    assert unaudited == [], f"client-record operations that left no audit row: {unaudited}"


@pytest.mark.parametrize("secured", AUDITED, indirect=True)
def test_without_a_stated_purpose_the_operation_is_the_purpose(secured: SecuredService) -> None:
    # (emergency access cannot go without one: tests/crisis/test_emergency_access.py)
    [operation, *_] = [
        op for op in _client_record_operations(secured) if "/emergency-access" not in op.key
    ]
    caller = next(INSIDERS[r] for r in PREFERENCE if r in operation.required_roles)
    assert secured.as_(caller, operation, body=_body(secured, operation)).status_code < 300
    latest = secured.audit()[-1]
    assert latest["purpose"] and "." in latest["purpose"] and " " not in latest["purpose"]


@pytest.mark.parametrize("secured", AUDITED, indirect=True)
@pytest.mark.parametrize("purpose", ["x" * 201, "tab\tseparated", "bell\x07"])
def test_an_unreadable_purpose_is_refused_before_anything_is_read(
    secured: SecuredService, purpose: str
) -> None:
    [operation, *_] = _client_record_operations(secured)
    caller = next(INSIDERS[r] for r in PREFERENCE if r in operation.required_roles)
    before = len(secured.audit())
    response = secured.send(
        operation, {**caller.headers(secured.settings), PURPOSE_HEADER: purpose}
    )
    assert response.status_code == 400  # a problem, or the FHIR API's OperationOutcome
    assert response.mimetype in ("application/problem+json", "application/fhir+json")
    assert len(secured.audit()) == before


def test_an_existing_database_gains_the_purpose_column_and_keeps_its_rows(
    tmp_path: Path,
) -> None:
    """Databases migrated before the column existed are upgraded in place by each service."""
    spec = load_spec("intake")
    assert spec.migrations is not None
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    upgrade(spec.migrations, url, "intake_0002")
    from sqlalchemy import MetaData

    from shared.db import create_database_engine

    engine = create_database_engine(url)
    old = AuditTrail(MetaData(), as_first_migrated=True).table
    with engine.begin() as connection:
        assert "purpose" not in {c["name"] for c in inspect(connection).get_columns("audit_log")}
        connection.execute(
            insert(old).values(
                at=datetime.now(UTC),
                actor="cm-1",
                roles=["case_manager"],
                action="read",
                entity="client",
                detail={},
            )
        )
    upgrade(spec.migrations, url)
    current = AuditTrail(MetaData()).table
    with engine.connect() as connection:
        rows = connection.execute(select(current.c.actor, current.c.purpose)).all()
    engine.dispose()
    assert rows == [("cm-1", None)]
