"""The partner suite: a housing charity's integration written from docs/partners.md alone. The
partner's side speaks only HTTP as the guide documents it (its API key, the partner API, the
FHIR API, a webhook receiver); the agency's side (the directory, a client with consent, a sent
referral, the worker delivering webhooks) is set up as the referrals tests do."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from services.referrals import operations
from tests.referrals.conftest import (  # noqa: F401 - the agency's side, as a fixture
    HOUSING,
    THERAPY,
    ReferralsApi,
    referrals,
)

#: Everything in this suite receives webhooks on 127.0.0.1 over http (the development setting).
LOOPBACK = pytest.mark.parametrize(
    "referrals", [{"allow_private_webhooks": True}], indirect=True, ids=["loopback-webhooks"]
)


@dataclass
class Partner:
    """One partner organisation's integration: its API key and how it calls Casehub."""

    agency: ReferralsApi
    organization: str
    key: str
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def request(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        kwargs: dict[str, Any] = {"headers": {"X-Api-Key": self.key, **headers}}
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs["headers"].setdefault("Content-Type", "application/json")
        return self.agency.http.open(path, method=method, **kwargs)


def _issue_key(agency: ReferralsApi, organization: str) -> str:
    issued = agency.call(
        "POST", f"/organizations/{organization}/api-keys", as_=("admin-1", "admin")
    )
    assert issued.status_code == 201, issued.json
    return str(issued.json["key"])


@pytest.fixture
def housing(referrals: ReferralsApi) -> Partner:  # noqa: F811
    return Partner(referrals, HOUSING, _issue_key(referrals, HOUSING))


@pytest.fixture
def therapy(referrals: ReferralsApi) -> Partner:  # noqa: F811
    return Partner(referrals, THERAPY, _issue_key(referrals, THERAPY))


@pytest.fixture
def endpoint(housing: Partner) -> Iterator[str]:
    """The housing charity's webhook receiver: it keeps each request's headers and raw body."""

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            housing.received.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/casehub"
    server.shutdown()


def run_agency_worker(agency: ReferralsApi) -> None:
    """The agency's worker sends every due webhook (as it does every 2 seconds)."""
    now = datetime.now(UTC)
    while operations.deliver_webhooks(
        agency.runtime.unit_of_work, lambda: now, outbound=agency.runtime.outbound
    ):
        pass
