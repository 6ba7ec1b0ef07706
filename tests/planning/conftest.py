from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.contracts import REGISTRY, Event
from tests.support.backends import Backend
from tests.support.service_api import ServiceApi

OWNER, SUPERVISOR = "cm-1", "sup-1"
COMPLETE_SAFETY_PLAN = {
    "warning_signs": ["Not sleeping"],
    "internal_coping_strategies": ["Music"],
    "distraction_people_and_places": ["Library"],
    "people_to_ask_for_help": ["Sister"],
    "professionals_and_crisis_lines": ["Crisis line"],
    "making_environment_safe": ["Meds with pharmacist"],
}


@dataclass
class PlanningApi(ServiceApi):
    default_caller: tuple[str, ...] = (OWNER, "case_manager")

    def deliver(self, routing_key: str, data: dict[str, Any], event_id: str | None = None) -> None:
        """Hand an intake event to planning's handler exactly as the consumer does (validated)."""
        event_type = f"casehub.{routing_key}"
        event = Event(
            type=event_type,
            source="/intake",
            subject=f"client/{data['client_id']}",
            data=REGISTRY.validate(event_type, data, tolerant=True),
            id=event_id or str(uuid.uuid4()),
        )
        with self.runtime.unit_of_work() as uow:
            self.runtime.handlers()[routing_key](event, uow)

    def new_episode(
        self, *, unmet: list[str] | None = None, owner: str | None = OWNER
    ) -> dict[str, str]:
        ids = {
            "client_id": str(uuid.uuid4()),
            "client_reference": "C-1001",
            "episode_id": str(uuid.uuid4()),
        }
        if owner:
            self.deliver(
                "intake.case.assigned.v1",
                {
                    **ids,
                    "case_manager_id": owner,
                    "supervisor_id": SUPERVISOR,
                    "assigned_by": "iw-1",
                    "method": "explicit",
                    "over_cap": False,
                    "assigned_at": datetime.now(UTC),
                },
            )
        self.deliver(
            "intake.assessment.completed.v1",
            {
                **ids,
                "assessment_id": str(uuid.uuid4()),
                "version": 1,
                "completed_at": datetime.now(UTC),
                "unmet_needs": unmet if unmet is not None else ["housing", "income"],
                "risk_level": "none",
            },
        )
        [plan] = self.call(
            "GET", "/plans", as_=("admin-1", "admin"), query={"client_id": ids["client_id"]}
        ).json["items"]
        return {**ids, "plan_id": plan["id"]}

    def plan(self, plan_id: str, as_: tuple[str, ...] = ("admin-1", "admin")) -> dict[str, Any]:
        return self.call("GET", f"/plans/{plan_id}", as_=as_).json

    def write_goals(self, plan_id: str) -> None:
        """Write every proposed goal with the client so the plan can be approved."""
        for goal in self.plan(plan_id)["working_version"]["content"]["goals"]:
            response = self.call(
                "PATCH",
                f"/plans/{plan_id}/goals/{goal['id']}",
                json_body={
                    "in_own_words": f"My {goal['domain']} goal",
                    "measurable_target": "Done",
                    "target_date": "2027-06-30",
                },
            )
            assert response.status_code == 200, response.json

    def approve(self, plan_id: str) -> Any:
        return self.call(
            "POST",
            f"/plans/{plan_id}/approve",
            json_body={"client_agreed": True, "method": "signed", "present": ["client", OWNER]},
        )


@pytest.fixture
def planning(backend: Backend, data_dir: Path) -> Iterator[PlanningApi]:
    api = PlanningApi.start("planning", backend, data_dir)
    yield api
    api.runtime.database.dispose()
