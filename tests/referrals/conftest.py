from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.contracts import REGISTRY, Event
from tests.support.backends import Backend
from tests.support.outbound import PARTNER_HOSTS
from tests.support.service_api import ServiceApi

CASE_MANAGER = "cm-1"
HOUSING, THERAPY = "housing-first", "talk-therapy"
PACKET = {
    "contact_details": {"phone": "555-0100"},
    "diagnosis": "F20.0",
    "assessment_summary": "Unmet: housing",
    "risk_information": "Flag: moderate",
}


@dataclass
class ReferralsApi(ServiceApi):
    default_caller: tuple[str, ...] = (CASE_MANAGER, "case_manager")

    @classmethod
    def start(cls, name: str, backend: Backend, data_dir: Path, **settings: Any) -> ReferralsApi:
        """The service with the partners' host names resolving as in a hosts file (to a public
        address nothing routes), so their https webhook URLs can be registered here."""
        api: ReferralsApi = super().start(name, backend, data_dir, **settings)
        api.runtime.outbound = replace(api.runtime.outbound, resolve=PARTNER_HOSTS)
        return api

    def deliver(self, routing_key: str, data: dict[str, Any]) -> None:
        event_type = f"casehub.{routing_key}"
        event = Event(
            type=event_type,
            source="/intake",
            subject="client/x",
            data=REGISTRY.validate(event_type, data, tolerant=True),
            id=str(uuid.uuid4()),
        )
        with self.runtime.unit_of_work() as uow:
            self.runtime.handlers()[routing_key](event, uow)

    def directory(self) -> None:
        admin = ("admin-1", "admin")
        for org in (HOUSING, THERAPY):
            assert (
                self.call(
                    "PUT", f"/organizations/{org}", as_=admin, json_body={"name": org}
                ).status_code
                == 200
            )
        for service, org, domains in (
            ("tenancy", HOUSING, ["housing"]),
            ("cbt", THERAPY, ["mental_state"]),
        ):
            response = self.call(
                "PUT",
                f"/services/{service}",
                as_=admin,
                json_body={
                    "organization_id": org,
                    "name": service,
                    "domains": domains,
                    "languages": ["en"],
                    "latitude": 51.5,
                    "longitude": -0.12,
                },
            )
            assert response.status_code == 200, response.json

    def client(
        self, *, consent_to: str | None = HOUSING, categories: list[str] | None = None
    ) -> str:
        client_id = str(uuid.uuid4())
        self.deliver(
            "intake.case.assigned.v1",
            {
                "client_id": client_id,
                "client_reference": "C-1042",
                "episode_id": str(uuid.uuid4()),
                "case_manager_id": CASE_MANAGER,
                "supervisor_id": "sup-1",
                "assigned_by": "iw-1",
                "method": "explicit",
                "over_cap": False,
                "assigned_at": datetime.now(UTC),
            },
        )
        if consent_to:
            self.consent(
                client_id, consent_to, categories or ["contact_details", "assessment_summary"]
            )
        return client_id

    def consent(self, client_id: str, organization: str, categories: list[str]) -> str:
        consent_id = str(uuid.uuid4())
        self.deliver(
            "intake.consent.granted.v1",
            {
                "consent_id": consent_id,
                "client_id": client_id,
                "organization_id": organization,
                "categories": categories,
                "starts_on": date.today() - timedelta(days=1),
                "expires_on": None,
            },
        )
        return consent_id

    def referral(self, client_id: str, service: str = "tenancy", *, send: bool = True) -> str:
        created = self.call(
            "POST",
            "/referrals",
            json_body={"client_id": client_id, "service_id": service, "packet": PACKET},
        )
        assert created.status_code == 201, created.json
        if send:
            sent = self.call("POST", f"/referrals/{created.json['id']}/send")
            assert sent.status_code == 200, sent.json
        return created.json["id"]

    def partner_move(self, referral_id: str, status: str, org: str = HOUSING, **extra: Any) -> Any:
        return self.call(
            "POST",
            f"/partner/referrals/{referral_id}/status",
            as_=(f"{org}-staff", "partner", org),
            json_body={"status": status, **extra},
        )

    def token(self, sub: str, *roles: str) -> str:
        org = next(
            (
                r
                for r in roles
                if r not in ("partner", "case_manager", "supervisor", "admin", "intake_worker")
            ),
            None,
        )
        real_roles = [r for r in roles if r != org]
        key = f"{sub}:{','.join(roles)}"
        if key not in self.tokens:
            from shared.web import mint_token

            self.tokens[key] = mint_token(self.runtime.settings, sub, real_roles, org=org)
        return self.tokens[key]


#: For tests whose webhook receivers listen on 127.0.0.1 over http: the development setting
#: (CASEHUB_ALLOW_PRIVATE_WEBHOOKS=1), on explicitly for them alone.
LOOPBACK_WEBHOOKS = pytest.mark.parametrize(
    "referrals", [{"allow_private_webhooks": True}], indirect=True, ids=["loopback-webhooks"]
)


@pytest.fixture
def referrals(
    backend: Backend, data_dir: Path, request: pytest.FixtureRequest
) -> Iterator[ReferralsApi]:
    """``request.param`` (see LOOPBACK_WEBHOOKS) may change the service's settings."""
    api = ReferralsApi.start("referrals", backend, data_dir, **getattr(request, "param", {}))
    api.directory()
    yield api
    api.runtime.database.dispose()
