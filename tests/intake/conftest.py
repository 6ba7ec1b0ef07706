from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.backends import Backend
from tests.support.service_api import ServiceApi

SUPERVISOR = "sup-1"
OTHER_SUPERVISOR = "sup-2"


@dataclass
class IntakeApi(ServiceApi):
    """The intake API as people in each role use it, plus a look at what it wrote."""

    default_caller: tuple[str, ...] = ("iw-1", "intake_worker")

    def register(
        self, given: str = "Alex", family: str = "Rivera", dob: str = "1988-04-12", **extra: Any
    ) -> dict[str, Any]:
        response = self.call(
            "POST",
            "/clients",
            json_body={"given_name": given, "family_name": family, "date_of_birth": dob, **extra},
        )
        assert response.status_code == 201, response.json
        return response.json

    def case_manager(
        self, cm_id: str, *, supervisor: str = SUPERVISOR, team: str = "north", cap: int = 50
    ) -> None:
        """An admin adds (or changes) a case manager of ``supervisor``'s team."""
        response = self.call(
            "PUT",
            f"/case-managers/{cm_id}",
            as_=("admin-1", "admin"),
            json_body={
                "display_name": cm_id.upper(),
                "team": team,
                "supervisor_id": supervisor,
                "caseload_cap": cap,
            },
        )
        assert response.status_code == 200, response.json

    def assign(
        self, client_id: str, cm_id: str, *, as_: tuple[str, ...] = ("iw-1", "intake_worker")
    ) -> Any:
        return self.call(
            "POST",
            f"/clients/{client_id}/assignment",
            as_=as_,
            json_body={"case_manager_id": cm_id},
        )


@pytest.fixture
def intake(backend: Backend, data_dir: Path) -> Iterator[IntakeApi]:
    api = IntakeApi.start("intake", backend, data_dir)
    yield api
    api.runtime.database.dispose()
