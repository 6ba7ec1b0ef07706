"""Across services: planning's review.due travels outbox -> broker -> intake's inbox and handler."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from shared.web import mint_token
from tests.support.backends import Backend
from tests.support.platform import wait_until
from tests.support.services import RunningServices


@pytest.fixture
def services(backend: Backend, data_dir: Path) -> Iterator[RunningServices]:
    running = RunningServices(backend, data_dir, ["intake", "planning"])
    yield running
    running.shutdown()


def test_review_due_from_planning_orders_the_intake_caseload(services: RunningServices) -> None:
    intake, planning = services["intake"], services["planning"]
    http = intake.create_app().test_client()

    def as_(sub: str, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(intake.settings, sub, [role])}"}

    http.put(
        "/case-managers/cm-1",
        headers=as_("sup-1", "supervisor"),
        json={"display_name": "CM", "team": "north", "supervisor_id": "sup-1"},
    )
    client = http.post(
        "/clients",
        headers=as_("iw-1", "intake_worker"),
        json={"given_name": "Alex", "family_name": "Rivera", "date_of_birth": "1988-04-12"},
    ).json
    http.post(
        f"/clients/{client['id']}/assignment",
        headers=as_("iw-1", "intake_worker"),
        json={"case_manager_id": "cm-1"},
    )
    with planning.unit_of_work() as uow:
        uow.publish(
            "casehub.planning.review.due.v1",
            subject=f"client/{client['id']}",
            data={
                "review_id": "r-1",
                "plan_id": "p-1",
                "client_id": client["id"],
                "episode_id": client["episodes"][0]["id"],
                "due_on": date(2027, 2, 1),
                "case_manager_id": "cm-1",
            },
        )
    services.start_workers()

    def review_shown() -> bool:
        caseload = http.get(
            "/case-managers/cm-1/caseload", headers=as_("cm-1", "case_manager")
        ).json
        return bool(caseload) and caseload[0]["next_review_due"] == "2027-02-01"

    assert wait_until(review_shown, timeout=30)
