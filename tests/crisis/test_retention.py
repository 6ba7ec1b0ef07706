"""Retention: after the configured period from discharge (a legal hold stops it) intake erases
its part and announces client.retention_expired; every service erases what it holds, once, and
reports back; the audit keeps only that it happened."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from services.intake import operations
from shared.contracts import REGISTRY, Event
from shared.service import ServiceRuntime
from tests.crisis.conftest import HIGH_RISK, high_risk_client, relay
from tests.intake.conftest import IntakeApi
from tests.notifications.conftest import NotificationsApi, notifications
from tests.planning.conftest import PlanningApi
from tests.referrals.conftest import HOUSING, ReferralsApi, referrals
from tests.reporting.conftest import publish, remove_queues
from tests.support.backends import Backend
from tests.support.platform import wait_until

__all__ = ["notifications", "referrals"]
ADMIN = ("admin-1", "admin")
LATER = datetime.now(UTC) + timedelta(days=round(7 * 365.25) + 2)


def _discharged(intake: IntakeApi, **register: Any) -> dict[str, Any]:
    client = high_risk_client(intake)
    granted = intake.call(
        "POST",
        f"/clients/{client['id']}/consents",
        as_=("cm-1", "case_manager"),
        json_body={
            "organization_id": HOUSING,
            "categories": ["contact_details"],
            "starts_on": "2026-01-01",
        },
    )
    assert granted.status_code == 201
    done = intake.call(
        "POST",
        f"/clients/{client['id']}/discharge",
        as_=("cm-1", "case_manager"),
        json_body={"reason_code": "goals_met"},
    )
    assert done.status_code == 200, done.json
    return client


def _expire(intake: IntakeApi, now: datetime) -> int:
    with intake.runtime.unit_of_work() as uow:
        return operations.expire_due(uow, now, intake.runtime.settings.retention_years)


def _to_intake(intake: IntakeApi, envelope: dict[str, Any]) -> None:
    event = Event(
        type=envelope["type"],
        source=envelope["source"],
        subject=envelope["subject"],
        data=REGISTRY.validate(envelope["type"], envelope["data"], tolerant=True),
        id=envelope["id"],
    )
    with intake.runtime.unit_of_work() as uow:
        intake.runtime.handlers()[envelope["type"].removeprefix("casehub.")](event, uow)


def test_intake_erases_after_the_period_unless_on_legal_hold(intake: IntakeApi) -> None:
    client = _discharged(intake)
    held = _discharged(intake)
    hold = intake.call(
        "PUT",
        f"/clients/{held['id']}/legal-hold",
        as_=ADMIN,
        json_body={"hold": True, "reason": "Court order"},
    )
    assert hold.status_code == 200 and hold.json["legal_hold"] is True
    status = intake.call("GET", f"/clients/{client['id']}/retention", as_=ADMIN).json
    assert status["expires_on"] and status["erased_at"] is None
    assert _expire(intake, datetime.now(UTC)) == 0  # not yet
    assert _expire(intake, LATER) == 1
    assert _expire(intake, LATER) == 0  # idempotent
    record = intake.call("GET", f"/clients/{client['id']}", as_=ADMIN).json
    assert record["given_name"] == "(erased)" and record["nominated_persons"] == []
    assert record["reference"] == client["reference"] and record["advance_statement"] is None
    assert intake.call("GET", f"/clients/{client['id']}/assessments", as_=ADMIN).json["items"] == []
    assert intake.call("GET", f"/clients/{held['id']}", as_=ADMIN).json["family_name"] == "Rivera"
    [announced] = intake.events("client.retention_expired.v1")
    assert announced["data"]["client_id"] == client["id"] and "Rivera" not in json.dumps(announced)
    trail = intake.call("GET", "/audit", as_=ADMIN, query={"client_id": client["id"]}).json["items"]
    [erased_row] = [row for row in trail if row["action"] == "retention.erased"]
    assert (
        "Rivera" not in json.dumps(erased_row)
        and erased_row["detail"]["erased"]["assessments"] == 1
    )
    status = intake.call("GET", f"/clients/{client['id']}/retention", as_=ADMIN).json
    assert status["erased_at"] and [r["service"] for r in status["reports"]] == ["intake"]
    # Nothing can be added to an erased record: every service drops later events about it, so
    # a re-admission or an assessment would reach no plan and no alert.
    for method, path, body in (
        ("POST", f"/clients/{client['id']}/readmit", None),
        ("PATCH", f"/clients/{client['id']}", {"given_name": "Alex"}),
        ("POST", f"/clients/{client['id']}/assessments", HIGH_RISK),
    ):
        refused = intake.call(method, path, as_=ADMIN, json_body=body)
        assert refused.status_code == 409, (path, refused.json)
        assert "erased" in refused.json["detail"] and "new client" in refused.json["detail"]
    record = intake.call("GET", f"/clients/{client['id']}", as_=ADMIN).json
    assert record["given_name"] == "(erased)" and record["status"] == "discharged"


def test_every_service_erases_once_and_reports_back(
    intake: IntakeApi,
    planning: PlanningApi,
    referrals: ReferralsApi,
    notifications: NotificationsApi,
) -> None:
    client = _discharged(intake)
    other = high_risk_client(intake)
    for kind in ("case.assigned.v1", "assessment.completed.v1", "risk.flagged.v1"):
        relay(intake, planning, kind)
    for kind in ("case.assigned.v1", "consent.granted.v1"):
        for envelope in intake.events(kind):
            referrals.deliver(envelope["type"].removeprefix("casehub."), envelope["data"])
    for envelope in intake.events("risk.flagged.v1"):
        notifications.deliver("intake.risk.flagged.v1", envelope["data"])
    referrals.referral(other["id"], send=False)
    _expire(intake, LATER)
    [expired] = intake.events("client.retention_expired.v1")
    for service in (planning, referrals, notifications):
        service.runtime.clock = type(service.runtime.clock)(fixed=LATER)
        handler = service.runtime.handlers()["intake.client.retention_expired.v1"]
        for event_id in (expired["id"], str(uuid.uuid4())):  # redelivered, then replayed anew
            event = Event(
                type=expired["type"],
                source="/intake",
                subject=expired["subject"],
                data=REGISTRY.validate(expired["type"], expired["data"], tolerant=True),
                id=event_id,
            )
            with service.runtime.unit_of_work() as uow:
                handler(event, uow)
        [report] = service.events("client.erased.v1")
        assert report["data"]["client_id"] == client["id"] and report["data"]["erased"]
        _to_intake(intake, report)
        _to_intake(intake, report)
    plans = planning.call("GET", "/plans", as_=ADMIN, query={"client_id": client["id"]}).json[
        "items"
    ]
    assert plans == []
    assert planning.call("GET", "/plans", as_=ADMIN, query={"client_id": other["id"]}).json["items"]
    assert "plans" in planning.events("client.erased.v1")[0]["data"]["erased"]
    assert referrals.call("GET", "/referrals", as_=ADMIN, query={"client_id": other["id"]}).json[
        "items"
    ]
    inbox = notifications.call("GET", "/me/notifications", as_=("cm-1", "case_manager")).json[
        "items"
    ]
    assert all(item["client_reference"] != client["reference"] for item in inbox)
    assert any(item["client_reference"] == other["reference"] for item in inbox)
    status = intake.call("GET", f"/clients/{client['id']}/retention", as_=ADMIN).json
    assert [r["service"] for r in status["reports"]] == [
        "intake",
        "notifications",
        "planning",
        "referrals",
    ]


def _consume(runtime: ServiceRuntime, handled: int) -> None:
    """Run the service's real consumer until its inbox holds ``handled`` events."""
    inbox = runtime.spec.tables.inbox

    def inbox_count() -> int:
        with runtime.database.read_session() as session:
            return session.scalar(select(func.count()).select_from(inbox)) or 0

    stop = threading.Event()
    thread = threading.Thread(target=runtime.consumer().run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: inbox_count() >= handled, timeout=60), inbox_count()
    finally:
        stop.set()
        thread.join(timeout=15)


def _rows_about(runtime: ServiceRuntime, client_id: str) -> dict[str, int]:
    """Table -> rows naming the client, for every table of the service with a client_id."""
    counts = {}
    with runtime.database.read_session() as session:
        for table in runtime.spec.metadata.sorted_tables:
            if "client_id" in table.c and table.name != "erasures":
                count = session.scalar(
                    select(func.count()).select_from(table).where(table.c.client_id == client_id)
                )
                if count:
                    counts[table.name] = count
    return counts


def test_events_arriving_after_the_erasure_do_not_bring_the_record_back(
    intake: IntakeApi, backend: Backend, data_dir: Path
) -> None:
    """A retry that was waiting, a dead letter replayed or an older event redelivered after the
    erasure goes through the service's real consumer: recorded, not run, while another client's
    events in the same batch are handled."""
    erased, other = _discharged(intake), high_risk_client(intake)
    planning = PlanningApi.start(
        "planning",
        backend,
        data_dir,
        exchange=f"casehub.test.erasure.{uuid.uuid4().hex[:8]}",
        embedded_polling_interval=0.02,
        retry_delays=(0.2, 0.4),
    )
    try:
        _expire(intake, LATER)
        [expired] = intake.events("client.retention_expired.v1")
        planning.deliver("intake.client.retention_expired.v1", expired["data"], expired["id"])
        assert _rows_about(planning.runtime, erased["id"]) == {}
        with intake.runtime.database.read_session() as session:
            assert operations.erased_among(session, [erased["id"], other["id"]]) == {erased["id"]}

        late = [
            envelope
            for kind in ("case.assigned.v1", "assessment.completed.v1", "risk.flagged.v1")
            for envelope in intake.events(kind)
        ]
        assert {e["data"]["client_id"] for e in late} == {erased["id"], other["id"]}
        publish(
            planning.runtime,
            [
                Event(
                    type=e["type"],
                    source=e["source"],
                    subject=e["subject"],
                    data=e["data"],
                    id=e["id"],
                )
                for e in late
            ],
        )
        _consume(planning.runtime, len(late))

        assert _rows_about(planning.runtime, erased["id"]) == {}
        assert _rows_about(planning.runtime, other["id"])  # the other client's were handled
    finally:
        remove_queues(planning.runtime)
        planning.runtime.database.dispose()
