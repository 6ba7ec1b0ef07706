"""Intake's events draft the plan in planning, through the broker, exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select, update

from services.planning.models import Plan
from shared.web import mint_token
from tests.support.backends import Backend
from tests.support.journey import admit_client
from tests.support.platform import wait_until
from tests.support.services import RunningServices


@pytest.fixture
def services(backend: Backend, data_dir: Path) -> Iterator[RunningServices]:
    running = RunningServices(backend, data_dir, ["intake", "planning"])
    yield running
    running.shutdown()


def _plans(services: RunningServices) -> list[Plan]:
    with services["planning"].database.read_session() as session:
        return list(session.scalars(select(Plan)))


def test_high_risk_assessment_drafts_a_plan_needing_a_safety_plan_once(
    services: RunningServices,
) -> None:
    intake = services["intake"]
    http = intake.create_app().test_client()

    def as_(sub: str, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(intake.settings, sub, [role])}"}

    client = admit_client(http, intake.settings)
    assessed = http.post(
        f"/clients/{client['id']}/assessments",
        headers=as_("cm-1", "case_manager"),
        json={
            "domains": {"housing": {"rating": "unmet_need"}, "income": {"rating": "unmet_need"}},
            "cssrs": {
                "wish_to_be_dead": True,
                "suicidal_thoughts": True,
                "method": True,
                "intent": True,
                "plan_with_intent": False,
            },
        },
    )
    assert assessed.json["risk_level"] == "high"
    services.start_workers()

    assert wait_until(
        lambda: any(plan.safety_plan_required for plan in _plans(services)), timeout=30
    )
    [plan] = _plans(services)
    assert (plan.owner_id, plan.supervisor_id, plan.episode_id) == (
        "cm-1",
        "sup-1",
        client["episodes"][0]["id"],
    )
    assert plan.client_reference == client["reference"]

    # every intake event is delivered a second time: the inbox lets none of them act twice
    duplicates_before = _duplicates_skipped()
    outbox = intake.spec.tables.outbox
    with intake.database.session() as session, session.begin():
        session.execute(update(outbox).values(published_at=None))
    assert wait_until(lambda: _duplicates_skipped() == duplicates_before + 4, timeout=30)
    consumed = services["planning"].spec.tables.inbox
    with services["planning"].database.read_session() as session:
        handled = session.scalar(select(func.count()).select_from(consumed))
    assert handled == 4  # case_manager.updated, case.assigned, assessment.completed, risk.flagged
    assert len(_plans(services)) == 1
    assert len([e for e in _planning_events(services) if e.endswith("plan.created.v1")]) == 1
    http_planning = services["planning"].create_app().test_client()
    body = http_planning.get(f"/plans/{plan.id}", headers=as_("cm-1", "case_manager")).json
    assert body["next_review_due"] == (date.today() + timedelta(days=7)).isoformat()
    assert [g["domain"] for g in body["working_version"]["content"]["goals"]] == [
        "income",
        "housing",
    ]


def _duplicates_skipped() -> float:
    return sum(
        sample.value
        for family in REGISTRY.collect()
        if family.name == "casehub_events_consumed"
        for sample in family.samples
        if sample.name.endswith("_total")
        and sample.labels.get("service") == "planning"
        and sample.labels.get("outcome") == "duplicate"
    )


def _planning_events(services: RunningServices) -> list[str]:
    outbox = services["planning"].spec.tables.outbox
    with services["planning"].database.read_session() as session:
        return list(session.scalars(select(outbox.c.event_type)))
