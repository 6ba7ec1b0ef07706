"""Clinical free text encrypted at rest: a dump of each database shows no note text, the API
reads it back, production refuses to start without a key, and rotation needs no downtime."""

from __future__ import annotations

import sqlite3
import subprocess
from typing import Any

import pytest
from sqlalchemy import MetaData, text
from sqlalchemy.engine import make_url

from services.cli import main
from shared import crypto
from shared.config import Settings
from tests.crisis.conftest import high_risk_client, relay
from tests.intake.conftest import IntakeApi
from tests.planning.conftest import PlanningApi
from tests.support.service_api import ServiceApi

ADVANCE = "Zarathustra-advance: call my sister before any admission"
NOTE = "Quillfeather-progress: slept four nights in the new flat"
WARNING = "Marmalade-warning: gives away belongings"
DOMAIN_NOTE = "Sleeping in the car park"  # high_risk_client's assessment note


def dump(service: ServiceApi) -> str:
    """The whole database as text: ``pg_dump`` on PostgreSQL, the SQL dump on SQLite."""
    url = make_url(service.runtime.database.url)
    if url.get_backend_name() == "postgresql":
        plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return subprocess.run(
            ["pg_dump", "--no-owner", plain], check=True, capture_output=True, text=True
        ).stdout
    connection = sqlite3.connect(str(url.database))
    try:
        return "\n".join(connection.iterdump())
    finally:
        connection.close()


def _clinical_record(intake: IntakeApi, planning: PlanningApi) -> dict[str, Any]:
    client = high_risk_client(intake)
    patched = intake.call(
        "PATCH",
        f"/clients/{client['id']}",
        json_body={"advance_statement": ADVANCE},
        as_=("admin-1", "admin"),
    )
    assert patched.status_code == 200, patched.json
    for kind in ("case.assigned.v1", "assessment.completed.v1", "risk.flagged.v1"):
        relay(intake, planning, kind)
    [plan] = planning.call(
        "GET", "/plans", as_=("admin-1", "admin"), query={"client_id": client["id"]}
    ).json["items"]
    safety = {
        section: ["-"] for section in plan["working_version"]["content"].get("safety_plan") or {}
    }
    safety["warning_signs"] = [WARNING]
    assert (
        planning.call("PUT", f"/plans/{plan['id']}/safety-plan", json_body=safety).status_code
        == 200
    )
    planning.write_goals(plan["id"])
    goal = planning.plan(plan["id"])["working_version"]["content"]["goals"][0]["id"]
    written = planning.call(
        "POST",
        f"/plans/{plan['id']}/goals/{goal}/progress-notes",
        json_body={"note": NOTE, "attainment": 1},
    )
    return {"client": client, "plan": plan, "progress": written}


def test_a_dump_of_each_database_contains_no_note_text_and_the_api_reads_it(
    intake: IntakeApi, planning: PlanningApi
) -> None:
    record = _clinical_record(intake, planning)
    intake_dump, planning_dump = dump(intake), dump(planning)
    for secret in (ADVANCE, DOMAIN_NOTE, "Zarathustra"):
        assert secret not in intake_dump
    for secret in (WARNING, "Marmalade", NOTE, "Quillfeather"):
        assert secret not in planning_dump
    assert crypto.PREFIX in intake_dump and crypto.PREFIX in planning_dump
    client = intake.call("GET", f"/clients/{record['client']['id']}", as_=("admin-1", "admin")).json
    assert client["advance_statement"] == ADVANCE
    [assessment] = intake.call(
        "GET", f"/clients/{client['id']}/assessments", as_=("admin-1", "admin")
    ).json["items"]
    assert assessment["domains"]["housing"]["notes"] == DOMAIN_NOTE
    plan = planning.plan(record["plan"]["id"])
    assert plan["working_version"]["content"]["safety_plan"]["warning_signs"] == [WARNING]


def test_production_refuses_to_start_without_a_key_as_with_the_development_secret() -> None:
    embedded = Settings.from_env("intake", {"CASEHUB_DATA_DIR": "/tmp/x"})
    assert embedded.encryption_key_problem("127.0.0.1") is None
    assert "CASEHUB_ENCRYPTION_KEYS" in (embedded.encryption_key_problem("0.0.0.0") or "")
    production = Settings.from_env(
        "intake", {"INTAKE_DATABASE_URL": "postgresql://db/intake", "CASEHUB_DATA_DIR": "/tmp/x"}
    )
    assert "CASEHUB_ENCRYPTION_KEYS" in (production.encryption_key_problem() or "")
    keyed = Settings.from_env(
        "intake",
        {
            "INTAKE_DATABASE_URL": "postgresql://db/intake",
            "CASEHUB_ENCRYPTION_KEYS": crypto.generate_key(),
        },
    )
    assert keyed.encryption_key_problem() is None
    wrong = Settings.from_env("intake", {"CASEHUB_ENCRYPTION_KEYS": "not-a-key"})
    assert "not a Fernet key" in (wrong.encryption_key_problem() or "")


def test_worker_refuses_to_start_on_postgresql_with_the_development_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PLANNING_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.delenv("CASEHUB_ENCRYPTION_KEYS", raising=False)
    assert main(["worker", "planning", "--no-migrate"]) == 2
    assert "CASEHUB_ENCRYPTION_KEYS" in capsys.readouterr().err


def test_keys_rotate_reencrypts_every_note_with_the_new_key_while_reads_go_on(
    intake: IntakeApi, planning: PlanningApi
) -> None:
    record = _clinical_record(intake, planning)
    old = intake.runtime.keyring.keys
    new = crypto.generate_key()
    try:
        # step 1: every process gets the new key first, the old ones still after it
        ring = crypto.use_keys((new, *old))
        for service in (intake, planning):
            with service.runtime.database.engine.connect() as connection:
                done = crypto.rotate_all(connection, service.runtime.spec.metadata, ring)
            assert sum(r.rotated for r in done) > 0
            with service.runtime.database.engine.connect() as connection:
                again = crypto.rotate_all(connection, service.runtime.spec.metadata, ring)
            assert sum(r.rotated for r in again) == 0  # idempotent: all current now
        # step 2: the old keys are retired; everything still reads
        crypto.use_keys((new,))
        client = intake.call("GET", f"/clients/{record['client']['id']}", as_=("admin-1", "admin"))
        assert client.json["advance_statement"] == ADVANCE
        plan = planning.plan(record["plan"]["id"])
        assert plan["working_version"]["content"]["safety_plan"]["warning_signs"] == [WARNING]
        assert ADVANCE not in dump(intake) and WARNING not in dump(planning)
    finally:
        crypto.use_keys(old)


def test_casehub_keys_rotate_command(
    intake: IntakeApi, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    high_risk_client(intake)
    old = intake.runtime.keyring.keys
    monkeypatch.setenv("INTAKE_DATABASE_URL", intake.runtime.settings.database_url)
    monkeypatch.setenv("CASEHUB_ENCRYPTION_KEYS", ",".join((crypto.generate_key(), *old)))
    try:
        assert main(["keys", "rotate", "intake"]) == 0
        output = capsys.readouterr().out
        assert "assessments.domains" in output and "rotated 1" in output
    finally:
        crypto.use_keys(old)
    with intake.runtime.database.engine.connect() as connection:
        stored = connection.execute(text("SELECT domains FROM assessments")).scalar_one()
    assert str(stored).startswith(crypto.PREFIX)
    assert MetaData
