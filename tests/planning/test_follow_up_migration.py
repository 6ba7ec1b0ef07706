"""Migration planning_0009_follow_up_tasks: crisis follow-ups recorded before it (their own
table) move onto the one worklist as tasks, open ones stay open, recorded ones stay recorded,
and a downgrade gives the old rows back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic import command
from sqlalchemy import text

from shared.db import create_database_engine
from shared.migrations import alembic_config
from shared.service import ServiceRuntime
from tests.planning.conftest import PlanningApi
from tests.support.backends import Backend
from tests.support.migrations import database_at, runtime_on

BEFORE = "planning_0008_casework"
OPENED = datetime(2026, 11, 29, 22, 30, tzinfo=UTC)
OLD_ROWS = [
    # id, kind, due_at, assignee, status, done_at, done_by
    ("f-24", "contact_within_24h", OPENED + timedelta(hours=24), "cm-1", "done", OPENED, "cm-1"),
    ("f-72", "contact_within_72h", OPENED + timedelta(hours=72), "cm-1", "open", None, None),
]


def _old_database(backend: Backend, data_dir: Path) -> tuple[ServiceRuntime, str]:
    url = database_at("planning", BEFORE, backend, data_dir)
    engine = create_database_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO episode_care (episode_id, client_id, client_reference,"
                " case_manager_id, supervisor_id, care_version) VALUES ('e-1', 'c-1', 'C-1042',"
                " 'cm-1', 'sup-1', 1)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO crisis_episodes (id, client_id, client_reference, episode_id, source,"
                " source_id, status, opened_at, actions) VALUES ('k-1', 'c-1', 'C-1042', 'e-1',"
                " 'risk_flag', 'flag-1', 'open', :opened, '[]')"
            ),
            {"opened": OPENED},
        )
        for row in OLD_ROWS:
            connection.execute(
                text(
                    "INSERT INTO follow_up_tasks (id, crisis_episode_id, client_id, kind, due_at,"
                    " assignee_id, status, done_at, done_by) VALUES (:id, 'k-1', 'c-1', :kind,"
                    " :due, :assignee, :status, :done_at, :done_by)"
                ),
                dict(
                    zip(
                        ("id", "kind", "due", "assignee", "status", "done_at", "done_by"),
                        row,
                        strict=True,
                    )
                ),
            )
    engine.dispose()
    return runtime_on("planning", url, backend, data_dir), url


def test_old_follow_ups_move_onto_the_worklist_and_back(backend: Backend, data_dir: Path) -> None:
    runtime, url = _old_database(backend, data_dir)
    runtime.migrate()
    api = PlanningApi(runtime, runtime.create_app().test_client())
    try:
        day = api.call("GET", "/me/worklist", as_=("cm-1", "case_manager")).json["items"]
        assert [(t["id"], t["source"], t["priority"], t["crisis_episode_id"]) for t in day] == [
            ("f-72", "crisis_follow_up", "high", "k-1")
        ]
        assert datetime.fromisoformat(day[0]["due_at"]) == OPENED + timedelta(hours=72)
        assert day[0]["due_on"] == "2026-12-02" and day[0]["client_reference"] == "C-1042"
        seen = api.call("GET", "/follow-ups", as_=("sup-1", "supervisor")).json["items"]
        assert sorted((f["id"], f["kind"], f["status"], f["done_by"]) for f in seen) == [
            ("f-24", "contact_within_24h", "done", "cm-1"),
            ("f-72", "contact_within_72h", "open", None),
        ]
        done = api.call("POST", "/follow-ups/f-72/complete", as_=("cm-1", "case_manager"))
        assert done.status_code == 200, done.json
    finally:
        runtime.database.dispose()

    command.downgrade(alembic_config(runtime.spec.migrations, url), BEFORE)  # type: ignore[arg-type]
    engine = create_database_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id, kind, assignee_id, status FROM follow_up_tasks ORDER BY id")
            )
            assert [tuple(row) for row in rows] == [
                ("f-24", "contact_within_24h", "cm-1", "done"),
                ("f-72", "contact_within_72h", "cm-1", "done"),
            ]
    finally:
        engine.dispose()
