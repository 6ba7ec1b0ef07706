"""Across services: planning's review.due travels outbox -> broker -> intake's inbox and handler."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

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


def test_review_due_from_planning_orders_the_intake_caseload(services: RunningServices) -> None:
    intake, planning = services["intake"], services["planning"]
    http = intake.create_app().test_client()

    def as_(sub: str, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(intake.settings, sub, [role])}"}

    client = admit_client(http, intake.settings)
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
        ).json["items"]
        return bool(caseload) and caseload[0]["next_review_due"] == "2027-02-01"

    assert wait_until(review_shown, timeout=30)
