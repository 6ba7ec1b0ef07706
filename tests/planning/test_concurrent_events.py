"""Two planning workers handling a high risk flag and an assessment of the same new episode at
the same moment (issue 14, item 2): the plan is inserted or got on its natural key, so both
handlers succeed the first time, one plan exists and it carries both effects."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from shared.contracts import REGISTRY, Event
from tests.planning.conftest import PlanningApi
from tests.support.platform import wait_until, waiting_on_a_lock


def _event(routing_key: str, data: dict[str, Any]) -> Event:
    event_type = f"casehub.{routing_key}"
    return Event(
        type=event_type,
        source="/intake",
        subject=f"client/{data['client_id']}",
        data=REGISTRY.validate(event_type, data, tolerant=True),
        id=str(uuid.uuid4()),
    )


def _handle(planning: PlanningApi, event: Event, errors: list[BaseException]) -> None:
    try:
        with planning.runtime.unit_of_work() as uow:
            planning.runtime.handlers()[event.type.removeprefix("casehub.")](event, uow)
    except BaseException as error:
        errors.append(error)


def test_a_risk_flag_and_an_assessment_handled_at_once_both_succeed(
    planning: PlanningApi,
) -> None:
    ids = {
        "client_id": str(uuid.uuid4()),
        "client_reference": "C-1001",
        "episode_id": str(uuid.uuid4()),
    }
    flagged = _event(
        "intake.risk.flagged.v1",
        {
            **ids,
            "flag_id": str(uuid.uuid4()),
            "assessment_id": str(uuid.uuid4()),
            "level": "high",
            "reasons": ["C-SSRS Q4"],
            "flagged_at": datetime.now(UTC),
        },
    )
    assessed = _event(
        "intake.assessment.completed.v1",
        {
            **ids,
            "assessment_id": str(uuid.uuid4()),
            "version": 1,
            "completed_at": datetime.now(UTC),
            "unmet_needs": ["housing", "income"],
            "risk_level": "high",
        },
    )
    inserted, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first_worker() -> None:
        """Creates the plan and holds its transaction open until the second worker runs."""
        try:
            with planning.runtime.unit_of_work() as uow:
                planning.runtime.handlers()["intake.risk.flagged.v1"](flagged, uow)
                uow.session.flush()
                inserted.set()
                assert release.wait(timeout=60)
        except BaseException as error:
            errors.append(error)
            inserted.set()

    first = threading.Thread(target=first_worker)
    second = threading.Thread(target=_handle, args=(planning, assessed, errors))
    first.start()
    assert inserted.wait(timeout=60)
    second.start()
    if planning.runtime.database.is_postgresql:
        # The second worker found no plan and now waits on the first one's uncommitted insert.
        assert wait_until(lambda: waiting_on_a_lock(planning.runtime), timeout=30)
    release.set()
    first.join(timeout=60)
    second.join(timeout=60)
    assert errors == []

    [plan] = planning.call(
        "GET", "/plans", as_=("admin-1", "admin"), query={"client_id": ids["client_id"]}
    ).json["items"]
    detail = planning.call("GET", f"/plans/{plan['id']}", as_=("admin-1", "admin")).json
    assert detail["safety_plan_required"] is True
    assert (
        len(detail["working_version"]["content"]["goals"]) == 2
    )  # the assessment's unmet needs, not lost
    assert len(planning.events("plan.created.v1")) == 1


def test_an_assignment_and_a_team_change_handled_at_once_leave_the_new_supervisor(
    planning: PlanningApi, real_only: None
) -> None:
    """The assignment reads the case manager's team while the team change moves the case
    manager's episodes: whichever runs first, the newly assigned episode ends with the new
    supervisor (it was left with the former one when the change missed the uncommitted row)."""

    def team(version: int, supervisor: str) -> Event:
        return Event(
            type="casehub.intake.case_manager.updated.v1",
            source="/intake",
            subject="case-manager/cm-race",
            data=REGISTRY.validate(
                "casehub.intake.case_manager.updated.v1",
                {
                    "case_manager_id": "cm-race",
                    "team": f"team-{supervisor}",
                    "supervisor_id": supervisor,
                    "caseload_cap": 30,
                    "active": True,
                    "version": version,
                    "updated_at": datetime.now(UTC),
                },
                tolerant=True,
            ),
            id=str(uuid.uuid4()),
        )

    errors: list[BaseException] = []
    _handle(planning, team(1, "sup-old"), errors)
    ids = {
        "client_id": str(uuid.uuid4()),
        "client_reference": "C-1001",
        "episode_id": str(uuid.uuid4()),
    }
    assigned = _event(
        "intake.case.assigned.v1",
        {
            **ids,
            "case_manager_id": "cm-race",
            "supervisor_id": "sup-old",
            "case_manager_version": 1,
            "assigned_by": "sup-old",
            "method": "explicit",
            "over_cap": False,
            "assigned_at": datetime.now(UTC),
        },
    )
    read, release = threading.Event(), threading.Event()

    def assigning_worker() -> None:
        """Handles the assignment and holds its transaction open until the team change waits."""
        try:
            with planning.runtime.unit_of_work() as uow:
                planning.runtime.handlers()["intake.case.assigned.v1"](assigned, uow)
                uow.session.flush()
                read.set()
                assert release.wait(timeout=60)
        except BaseException as error:
            errors.append(error)
            read.set()

    first = threading.Thread(target=assigning_worker)
    second = threading.Thread(target=_handle, args=(planning, team(2, "sup-new"), errors))
    first.start()
    assert read.wait(timeout=60)
    second.start()
    assert wait_until(lambda: waiting_on_a_lock(planning.runtime), timeout=30)
    release.set()
    first.join(timeout=60)
    second.join(timeout=60)
    assert errors == []
    with planning.runtime.database.read_session() as session:
        supervisor = session.execute(
            sa.text("SELECT supervisor_id FROM episode_care WHERE episode_id = :id"),
            {"id": ids["episode_id"]},
        ).scalar_one()
    assert supervisor == "sup-new"
