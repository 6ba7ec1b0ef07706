"""Crisis access and privacy governance across services: each service under test through its
real HTTP app on both back ends, events handed from one to another as the consumer does."""

from __future__ import annotations

from typing import Any

from tests.intake.conftest import IntakeApi, intake
from tests.notifications.conftest import notifications
from tests.planning.conftest import PlanningApi, planning

__all__ = ["high_risk_client", "intake", "notifications", "planning", "relay"]

HIGH_RISK = {
    "domains": {"housing": {"rating": "unmet_need", "notes": "Sleeping in the car park"}},
    "cssrs": {
        "wish_to_be_dead": True,
        "suicidal_thoughts": True,
        "method": True,
        "intent": True,
        "plan_with_intent": False,
        "behaviour_ever": False,
    },
}
PURPOSE = {"X-Purpose": "Crisis call at 02:10, client's case manager unreachable"}


def high_risk_client(
    intake: IntakeApi, cm: str = "cm-1", supervisor: str = "sup-1"
) -> dict[str, Any]:
    """A client of ``cm`` (in ``supervisor``'s team) with a nominated person and a high flag."""
    intake.case_manager(cm, supervisor=supervisor)
    client = intake.register(
        nominated_persons=[
            {"name": "Sam Rivera", "relationship_to_client": "family", "phone": "555-0101"}
        ],
        contact={"phone": "555-0100"},
        confirmed_not_duplicate=True,
    )
    assert intake.assign(client["id"], cm).status_code == 201
    response = intake.call("POST", f"/clients/{client['id']}/assessments", json_body=HIGH_RISK)
    assert response.status_code == 201 and response.json["risk_level"] == "high", response.json
    return client


def relay(intake: IntakeApi, target: PlanningApi, event_type: str) -> list[dict[str, Any]]:
    """Hand intake's published events of ``event_type`` to planning as its consumer would."""
    envelopes = intake.events(event_type)
    for envelope in envelopes:
        target.deliver(envelope["type"].removeprefix("casehub."), envelope["data"], envelope["id"])
    return envelopes
