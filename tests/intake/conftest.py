from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from services.catalog import load_spec, platform_topology
from shared.config import Settings
from shared.service import ServiceRuntime
from shared.web import mint_token
from tests.support.backends import Backend

SUPERVISOR = "sup-1"
OTHER_SUPERVISOR = "sup-2"


@dataclass
class IntakeApi:
    """The intake API as people in each role use it, plus a look at what it wrote."""

    runtime: ServiceRuntime
    http: FlaskClient
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, sub: str, *roles: str) -> str:
        key = f"{sub}:{','.join(roles)}"
        if key not in self.tokens:
            self.tokens[key] = mint_token(
                self.runtime.settings, sub, roles, org="org-1" if "partner" in roles else None
            )
        return self.tokens[key]

    def call(
        self,
        method: str,
        path: str,
        *,
        as_: tuple[str, ...] | None = ("iw-1", "intake_worker"),
        json_body: Any = None,
        query: dict[str, Any] | None = None,
    ) -> Any:
        headers = {} if as_ is None else {"Authorization": f"Bearer {self.token(as_[0], *as_[1:])}"}
        return self.http.open(
            path, method=method, json=json_body, query_string=query, headers=headers
        )

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
        response = self.call(
            "PUT",
            f"/case-managers/{cm_id}",
            as_=(supervisor, "supervisor"),
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

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        outbox = self.runtime.spec.tables.outbox
        with self.runtime.database.read_session() as session:
            rows = session.execute(select(outbox.c.payload).order_by(outbox.c.id)).scalars().all()
        envelopes = [json.loads(row) for row in rows]
        return [
            e
            for e in envelopes
            if event_type is None or e["type"] == f"casehub.intake.{event_type}"
        ]


@pytest.fixture
def intake(backend: Backend, data_dir: Path) -> Iterator[IntakeApi]:
    settings = Settings(
        service="intake",
        data_dir=data_dir,
        database_url=backend.new_database("intake", data_dir),
        broker_url=backend.broker_url,
        broker_connect_timeout=2,
    )
    runtime = ServiceRuntime(load_spec("intake"), settings, platform_topology(settings))
    runtime.migrate()
    yield IntakeApi(runtime, runtime.create_app().test_client())
    runtime.database.dispose()
