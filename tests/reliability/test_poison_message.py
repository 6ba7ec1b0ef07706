"""A poison message on the real platform: retried, parked in the DLQ, visible to the operator's
`casehub dlq list`, and replayed with `casehub dlq replay` once the fault is fixed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.reliability.conftest import (
    Workload,
    database_url,
    hire_case_managers,
    inbox_ids,
    plans_per_client,
    query,
)
from tests.support.backends import Backend
from tests.support.platform import wait_until
from tests.support.processes import ProcessPlatform

SERVICES = ["intake", "planning"]
#: A fault only planning's handler meets (a bad deploy's constraint, say): drafting a plan fails.
BREAK_PLANNING = """
CREATE FUNCTION refuse_plans() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'plans are refused by a broken constraint'; END $$;
CREATE TRIGGER refuse_plans BEFORE INSERT ON plans FOR EACH ROW EXECUTE FUNCTION refuse_plans();
"""
FIX_PLANNING = "DROP TRIGGER refuse_plans ON plans; DROP FUNCTION refuse_plans();"


@pytest.fixture
def platform(backend: Backend, real_only: None, data_dir: Path) -> Iterator[ProcessPlatform]:
    databases = {name: backend.new_database(name, data_dir) for name in SERVICES}
    running = ProcessPlatform(backend.broker_url, databases, data_dir)
    running.start()
    yield running
    running.stop()


def _execute(platform: ProcessPlatform, sql: str) -> None:
    url = make_url(database_url(platform, "planning")).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as db:
        db.execute(sql)


def _dead_letters(platform: ProcessPlatform) -> list[dict[str, object]]:
    listed = platform.casehub("dlq", "list", "planning")
    assert listed.returncode == 0, listed.stderr
    return [json.loads(line) for line in listed.stdout.splitlines() if line.startswith("{")]


@pytest.mark.slow
def test_poison_event_is_retried_parked_listed_and_replayed_after_the_fix(
    platform: ProcessPlatform,
) -> None:
    hire_case_managers(platform)
    _execute(platform, BREAK_PLANNING)
    load = Workload(platform)
    load.run(0, 3)
    assert set(load.statuses) == {201}

    assert wait_until(lambda: len(_dead_letters(platform)) == 3, timeout=60, interval=0.5)
    letters = _dead_letters(platform)
    assert {letter["type"] for letter in letters} == {"casehub.intake.assessment.completed.v1"}
    assert all("refused by a broken constraint" in str(letter["error"]) for letter in letters)
    assert all(int(str(letter["attempts"])) == 1 for letter in letters)  # the one retry configured
    assert plans_per_client(platform) == {}
    parked = {str(letter["event_id"]) for letter in letters}
    assert not parked & inbox_ids(platform, "planning")  # nothing half-recorded
    shown = platform.casehub("dlq", "show", "planning", sorted(parked)[0])
    assert shown.returncode == 0 and '"envelope"' in shown.stdout

    _execute(platform, FIX_PLANNING)
    replayed = platform.casehub("dlq", "replay", "planning", "--all")
    assert replayed.returncode == 0 and "3 event(s) replayed" in replayed.stdout, replayed

    assert wait_until(lambda: len(plans_per_client(platform)) == 3, timeout=60)
    assert set(plans_per_client(platform).values()) == {1}
    assert parked <= inbox_ids(platform, "planning")
    assert _dead_letters(platform) == []
    [(count,)] = query(database_url(platform, "planning"), "SELECT count(*) FROM plans")
    assert count == 3
