"""Steps of the journeys the e2e tests share, done through intake's public API."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from shared.config import Settings
from shared.web import mint_token


def bearer(settings: Settings, sub: str, *roles: str, org: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(settings, sub, roles, org=org)}"}


def admit_client(
    intake: FlaskClient,
    settings: Settings,
    *,
    case_manager: str = "cm-1",
    supervisor: str = "sup-1",
) -> dict[str, Any]:
    """An admin adds the case manager to a supervisor's team; an intake worker registers Alex
    Rivera and assigns them to that case manager."""
    saved = intake.put(
        f"/case-managers/{case_manager}",
        headers=bearer(settings, "admin-1", "admin"),
        json={"display_name": case_manager.upper(), "team": "north", "supervisor_id": supervisor},
    )
    assert saved.status_code == 200, saved.json
    worker = bearer(settings, "iw-1", "intake_worker")
    client = intake.post(
        "/clients",
        headers=worker,
        json={"given_name": "Alex", "family_name": "Rivera", "date_of_birth": "1988-04-12"},
    ).json
    assigned = intake.post(
        f"/clients/{client['id']}/assignment",
        headers=worker,
        json={"case_manager_id": case_manager},
    )
    assert assigned.status_code == 201, assigned.json
    return client
