"""A service under test through its real HTTP app, with tokens per role and a look at its outbox."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from services.catalog import load_spec, platform_topology
from shared.config import Settings
from shared.service import ServiceRuntime
from shared.web import mint_token
from tests.support.backends import Backend, fresh_database


@dataclass
class ServiceApi:
    runtime: ServiceRuntime
    http: FlaskClient
    default_caller: tuple[str, ...] = ("admin-1", "admin")
    tokens: dict[str, str] = field(default_factory=dict)

    @classmethod
    def start(cls, name: str, backend: Backend, data_dir: Path, **settings: Any) -> Any:
        # Many tests send wrong credentials on purpose; tests/security/test_hardening.py sets a
        # limit to test the 429 brake.
        settings.setdefault("auth_failure_limit", 0)
        spec = load_spec(name)
        config = Settings(
            service=name,
            data_dir=data_dir,
            database_url=fresh_database(backend, spec, data_dir),
            broker_url=backend.broker_url,
            broker_connect_timeout=2,
            **settings,
        )
        runtime = ServiceRuntime(spec, config, platform_topology(config))
        if config.allow_private_webhooks and not runtime.outbound.http_allowed:
            # Test receivers listen over http on loopback, on PostgreSQL too: such a runtime
            # stands in for the embedded default's development setting (the only place http is
            # allowed), so its guard and the settings built from it say so.
            runtime.outbound = replace(runtime.outbound, allow_http=True)
            if runtime.spec.bootstrap is not None:
                runtime.service_settings = runtime.spec.bootstrap(runtime)
        if spec.migrations is None:
            runtime.migrate()
        return cls(runtime, runtime.create_app().test_client())

    def token(self, sub: str, *roles: str) -> str:
        key = f"{sub}:{','.join(roles)}"
        if key not in self.tokens:
            org = "org-1" if "partner" in roles else None
            self.tokens[key] = mint_token(self.runtime.settings, sub, roles, org=org)
        return self.tokens[key]

    def call(
        self,
        method: str,
        path: str,
        *,
        as_: tuple[str, ...] | str | None = "default",
        json_body: Any = None,
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        caller = self.default_caller if as_ == "default" else as_
        headers = dict(headers or {}) | (
            {}
            if caller is None
            else {"Authorization": f"Bearer {self.token(caller[0], *caller[1:])}"}
        )
        return self.http.open(
            path, method=method, json=json_body, query_string=query, headers=headers
        )

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Envelopes in the outbox, optionally of one type (without the casehub.<service>. prefix)."""
        outbox = self.runtime.spec.tables.outbox
        with self.runtime.database.read_session() as session:
            rows = session.execute(select(outbox.c.payload).order_by(outbox.c.id)).scalars().all()
        prefix = f"casehub.{self.runtime.spec.name}."
        envelopes = [json.loads(row) for row in rows]
        return [e for e in envelopes if event_type is None or e["type"] == prefix + event_type]
