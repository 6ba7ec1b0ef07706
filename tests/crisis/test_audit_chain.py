"""A tamper-evident audit trail: rows chained by hash, ``casehub audit verify`` catching an edited
and a deleted row, and ``casehub audit export`` merging the services' trails into one CSV."""

from __future__ import annotations

import csv
import io
import itertools
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import MetaData, text

from services import governance
from services.cli import main
from shared.audit import AuditTrail
from tests.crisis.conftest import PURPOSE, high_risk_client, relay
from tests.intake.conftest import IntakeApi
from tests.planning.conftest import PlanningApi
from tests.support.service_api import ServiceApi

ADMIN = ("admin-1", "admin")


def _verify(service: ServiceApi) -> dict[str, Any]:
    with service.runtime.database.read_session() as session:
        return AuditTrail(MetaData()).verify(session).as_dict()


def _audit_ids(service: ServiceApi) -> list[int]:
    with service.runtime.database.engine.connect() as connection:
        return list(connection.execute(text("SELECT id FROM audit_log ORDER BY id")).scalars())


def _tamper(service: ServiceApi, statement: str, **values: Any) -> None:
    with service.runtime.database.engine.begin() as connection:
        connection.execute(text(statement), values)


def _busy_trail(intake: IntakeApi) -> dict[str, Any]:
    client = high_risk_client(intake)
    for _ in range(3):
        assert intake.call("GET", f"/clients/{client['id']}", as_=ADMIN).status_code == 200
    return client


def test_every_row_carries_the_hash_of_the_one_before_and_verify_says_intact(
    intake: IntakeApi, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _busy_trail(intake)
    rows = intake.call("GET", "/audit", as_=ADMIN).json["items"]
    assert len(rows) >= 5
    assert rows[0]["prev_hash"] is None
    for before, row in itertools.pairwise(rows):
        assert row["prev_hash"] == before["row_hash"] and len(row["row_hash"]) == 64
    monkeypatch.setenv("INTAKE_DATABASE_URL", intake.runtime.settings.database_url)
    assert main(["audit", "verify", "intake"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["intact"] is True and report["rows"] == len(rows)


def test_requests_at_once_chain_in_one_unbroken_line(intake: IntakeApi) -> None:
    """Registrations, reads and searches (one audit row per client found) from several threads at
    once: every audit row is chained onto the one committed before it in its lane."""
    callers = 6
    start = threading.Barrier(callers)
    token = intake.token(*ADMIN)

    def work(n: int) -> list[int]:
        http = intake.http.application.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        start.wait()
        created = http.post(
            "/clients",
            json={"given_name": f"Line{n}", "family_name": "Chain", "date_of_birth": "1970-01-01"},
            headers=headers,
        )
        read = http.get(f"/clients/{created.json['id']}", headers=headers)
        found = http.get("/clients", query_string={"name": "Chain"}, headers=headers)
        return [created.status_code, read.status_code, found.status_code]

    with ThreadPoolExecutor(callers) as pool:
        statuses = list(pool.map(work, range(callers)))
    assert statuses == [[201, 200, 200]] * callers
    report = _verify(intake)
    assert report["intact"] is True, report["problems"]
    assert report["rows"] == len(_audit_ids(intake)) >= 3 * callers


def test_verify_catches_an_edited_row(
    intake: IntakeApi, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _busy_trail(intake)
    edited = _audit_ids(intake)[2]
    _tamper(intake, "UPDATE audit_log SET actor = 'nobody' WHERE id = :id", id=edited)
    monkeypatch.setenv("INTAKE_DATABASE_URL", intake.runtime.settings.database_url)
    assert main(["audit", "verify", "intake"]) == 1
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["intact"] is False
    assert {"id": edited, "problem": "edited"} in report["problems"]


def test_verify_catches_a_deleted_row_in_the_middle_and_at_the_end(intake: IntakeApi) -> None:
    _busy_trail(intake)
    ids = _audit_ids(intake)
    _tamper(intake, "DELETE FROM audit_log WHERE id = :id", id=ids[2])
    report = _verify(intake)
    assert {"id": ids[3], "problem": "missing_before", "after_id": ids[1]} in report["problems"]
    assert not any(p["problem"] == "edited" for p in report["problems"])

    _tamper(intake, "DELETE FROM audit_log WHERE id = :id", id=ids[-1])
    problems = _verify(intake)["problems"]
    assert {"id": ids[-1], "problem": "missing_at_end", "after_id": ids[-2]} in problems


def test_a_held_lane_is_skipped_not_waited_for_and_verify_walks_each_lane(
    intake: IntakeApi, real_only: None
) -> None:
    """PostgreSQL: while another transaction holds lane 1, an audited read chains onto lane 2
    at once; each lane is its own chain, and a row deleted from the end of lane 2 is caught."""
    client = intake.register()
    with intake.runtime.database.engine.connect() as holder:
        holder.execute(text("SELECT id FROM audit_chain WHERE id = 1 FOR UPDATE"))
        assert intake.call("GET", f"/clients/{client['id']}", as_=ADMIN).status_code == 200
        holder.rollback()
    rows = intake.call("GET", "/audit", as_=ADMIN).json["items"]
    assert [row["lane"] for row in rows] == [1] * (len(rows) - 1) + [2]
    assert rows[-1]["prev_hash"] is None  # the first row of its lane
    assert _verify(intake)["intact"] is True

    _tamper(intake, "DELETE FROM audit_log WHERE id = :id", id=rows[-1]["id"])
    problems = _verify(intake)["problems"]
    assert problems == [{"id": rows[-1]["id"], "problem": "missing_at_end", "after_id": None}]


def _wsgi_clients(*services: tuple[str, ServiceApi]) -> dict[str, httpx.Client]:
    return {
        name: httpx.Client(
            base_url="http://test",
            transport=httpx.WSGITransport(app=api.http.application),
            headers={"Authorization": f"Bearer {api.token(*ADMIN)}"},
        )
        for name, api in services
    }


def test_audit_export_merges_the_services_trails_by_time_and_emergency_reads_stand_out(
    intake: IntakeApi, planning: PlanningApi
) -> None:
    client = high_risk_client(intake)
    other = intake.register("Other", "Person", "1970-01-01")
    intake.call("GET", f"/clients/{other['id']}", as_=ADMIN)
    for kind in ("case.assigned.v1", "assessment.completed.v1", "risk.flagged.v1"):
        relay(intake, planning, kind)
    on_call = ("dr-night", "on_call")
    intake.call("POST", f"/clients/{client['id']}/emergency-access", as_=on_call, headers=PURPOSE)
    relay(intake, planning, "access.emergency_granted.v1")
    picture = f"/clients/{client['id']}/emergency-access/crisis-picture"
    assert planning.call("GET", picture, as_=on_call, headers=PURPOSE).status_code == 200
    assert intake.call("GET", picture, as_=on_call, headers=PURPOSE).status_code == 200

    clients = _wsgi_clients(("intake", intake), ("planning", planning))
    found = governance.resolve_client(clients["intake"], client["reference"])
    assert found["id"] == client["id"]
    rows = governance.merged_audit(clients, client["id"])
    table = list(csv.DictReader(io.StringIO(governance.audit_csv(rows))))
    assert {row["service"] for row in table} == {"intake", "planning"}
    assert {row["client_id"] for row in table} == {client["id"]}
    assert [row["at"] for row in table] == sorted(row["at"] for row in table)
    emergency = [row for row in table if row["emergency"] == "EMERGENCY"]
    assert {(row["service"], row["action"]) for row in emergency} == {
        ("intake", "emergency_access_granted"),
        ("intake", "emergency_read"),
        ("planning", "emergency_read"),
    }
    assert all(row["purpose"] == PURPOSE["X-Purpose"] for row in emergency)
    assert all(row["emergency"] == "" for row in table if "emergency" not in row["action"])
    # a window that ends before anything happened holds nothing
    start = min(row["at"] for row in rows)

    before = datetime.fromisoformat(start) - timedelta(seconds=1)
    assert governance.merged_audit(clients, client["id"], until=before) == []
    assert len(governance.merged_audit(clients, client["id"], since=before)) == len(rows)
