"""Casehub as people run it, for the browser tests: ``casehub dev`` (every service and worker
as its own process, the web app first) trusting a real OpenID provider, on the embedded
default or on PostgreSQL + RabbitMQ."""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from shared.crypto import generate_key
from tests.support.backends import Backend
from tests.support.oidc import WEB_CLIENT_ID, WEB_CLIENT_SECRET, OpenIdProvider
from tests.support.processes import DevProcess, dev_ports

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "planning", "referrals", "notifications")


@dataclass
class LivePlatform:
    web_url: str
    urls: dict[str, str]
    provider: OpenIdProvider

    def call(self, service: str, method: str, path: str, who: str, body: Any = None) -> Any:
        token = self.provider.machine_token(who)
        response = requests.request(
            method,
            self.urls[service] + path,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=15,
        )
        assert response.status_code < 300, (path, response.status_code, response.text)
        return response.json() if response.content else None


@contextmanager
def live_platform(backend: Backend, data_dir: Path) -> Iterator[LivePlatform]:
    base, mail_port = dev_ports()
    web_port = base - 1
    web_url = f"http://127.0.0.1:{web_port}"
    provider = OpenIdProvider([f"{web_url}/auth/callback"], [f"{web_url}/sign-in"]).start()
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith("_DATABASE_URL") and key not in ("CASEHUB_BROKER_URL",)
    }
    environment.update(
        {
            "CASEHUB_DATA_DIR": str(data_dir),
            "CASEHUB_JWT_JWKS_URL": provider.jwks_url,
            "CASEHUB_JWT_ISSUER": provider.issuer,
            "WEB_OIDC_DISCOVERY_URL": provider.discovery_url,
            "WEB_OIDC_CLIENT_ID": WEB_CLIENT_ID,
            "WEB_OIDC_CLIENT_SECRET": WEB_CLIENT_SECRET,
            "WEB_OIDC_SCOPE": "openid profile offline_access casehub",
            "NOTIFICATIONS_SMTP_PORT": str(mail_port),
        }
    )
    exchange = None
    if backend.is_real:
        exchange = f"casehub.test.{uuid.uuid4().hex[:8]}"
        environment["CASEHUB_BROKER_URL"] = backend.broker_url
        environment["CASEHUB_EXCHANGE"] = exchange
        # Outside the embedded default intake and planning refuse the development notes key.
        environment["CASEHUB_ENCRYPTION_KEYS"] = generate_key()
        for name in (*SERVICES, "web"):
            environment[f"{name.upper()}_DATABASE_URL"] = backend.new_database(name, data_dir)
    dev = DevProcess(base, environment)
    try:
        banner = dev.banner(timeout=240)
        text = "".join(banner)
        assert f"Open Casehub: {web_url}" in text, text
        assert "some services failed" not in text, text
        yield LivePlatform(
            web_url,
            {name: f"http://127.0.0.1:{base + offset}" for offset, name in enumerate(SERVICES)},
            provider,
        )
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):
            dev.interrupt(wait=60)
        provider.stop()
        if exchange is not None:
            _delete_broker_names(backend.broker_url, exchange)


def _delete_broker_names(broker_url: str, exchange: str) -> None:
    from services.catalog import platform_topology
    from shared.config import Settings
    from shared.messaging.broker import open_connection

    settings = Settings.from_env(
        "test", {"CASEHUB_BROKER_URL": broker_url, "CASEHUB_EXCHANGE": exchange}
    )
    topology = platform_topology(settings)
    connection = open_connection(settings)
    try:
        channel = connection.channel()
        for name in topology.subscriptions:
            for queue_name in topology.queue_names(name):
                channel.queue_delete(queue_name)
        channel.queue_delete(topology.archive_name)
        channel.exchange_delete(exchange)
    finally:
        connection.release()
