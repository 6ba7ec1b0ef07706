"""The web app against the four real services: each service's own Flask app and worker threads
on the embedded backend, reached through tests/support/wsgi_transport.py (no sockets, the same HTTP
requests). People sign in with the development sign-in here; tests/web/test_oidc.py and the
browser tests sign in through a real OpenID provider."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from services.web.app import create_app
from services.web.backend import Backend
from services.web.config import WebSettings
from shared.config import SERVICE_NAMES, Settings
from tests.support.backends import Backend as TestBackend
from tests.support.backends import embedded_backend
from tests.support.journey import bearer
from tests.support.platform import wait_until
from tests.support.ports import free_port
from tests.support.services import RunningServices
from tests.support.wsgi_transport import WsgiTransport

CSRF = re.compile(r'(?:name="csrf_token" value="|"X-CSRF-Token": ")([^"]+)"')
CASE_MANAGER, SUPERVISOR = "cm-ana", "sup-maria"
PARTNER_ORG, PARTNER_SERVICE = "housing-first", "tenancy-support"


def web_settings(data_dir: Path, **overrides: Any) -> WebSettings:
    platform = Settings(
        service="web",
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'web'}.db",
        broker_url="filesystem://",
    )
    values: dict[str, Any] = {
        "platform": platform,
        "service_urls": {name: f"http://{name}.test" for name in SERVICE_NAMES},
        **overrides,
    }
    return WebSettings(**values)


class Person:
    """One browser's worth of the web app: its cookie jar, and the CSRF token of the last page."""

    def __init__(self, app: Flask) -> None:
        self.http: FlaskClient = app.test_client()
        self.csrf = ""

    def get(self, path: str, **options: Any) -> TestResponse:
        response = self.http.get(path, **options)
        self._remember(response)
        return response

    def post(self, path: str, data: dict[str, Any] | None = None, **options: Any) -> TestResponse:
        response = self.http.post(path, data={"csrf_token": self.csrf, **(data or {})}, **options)
        self._remember(response)
        return response

    def _remember(self, response: TestResponse) -> None:
        found = CSRF.search(response.get_data(as_text=True))
        if found:
            self.csrf = found[1]

    def sign_in(self, sub: str) -> TestResponse:
        self.get("/sign-in")
        return self.post("/sign-in/development", {"person": sub, "next": "/"})

    def text(self, path: str) -> str:
        response = self.get(path, follow_redirects=True)
        assert response.status_code == 200, response.get_data(as_text=True)[-800:]
        return response.get_data(as_text=True)


@dataclass
class WebPlatform:
    services: RunningServices
    app: Flask
    settings: WebSettings

    def person(self, sub: str | None = None) -> Person:
        person = Person(self.app)
        if sub:
            signed = person.sign_in(sub)
            assert signed.status_code == 302, signed.get_data(as_text=True)
        return person

    def api(self, service: str) -> FlaskClient:
        return self.services[service].create_app().test_client()

    def as_(self, sub: str, *roles: str, org: str | None = None) -> dict[str, str]:
        return bearer(self.services["intake"].settings, sub, *roles, org=org)

    def seed_team_and_directory(self) -> None:
        """An admin sets up the team (case manager under the supervisor) and a partner service."""
        admin = self.as_("admin-1", "admin")
        intake = self.api("intake")
        saved = intake.put(
            f"/case-managers/{CASE_MANAGER}",
            headers=admin,
            json={
                "display_name": "Ana Ortiz",
                "team": "north",
                "supervisor_id": SUPERVISOR,
                "caseload_cap": 2,
            },
        )
        assert saved.status_code == 200, saved.json
        referrals = self.api("referrals")
        assert (
            referrals.put(
                f"/organizations/{PARTNER_ORG}", headers=admin, json={"name": "Housing First"}
            ).status_code
            == 200
        )
        put = referrals.put(
            f"/services/{PARTNER_SERVICE}",
            headers=admin,
            json={
                "organization_id": PARTNER_ORG,
                "name": "Tenancy support",
                "domains": ["housing"],
                "languages": ["en"],
            },
        )
        assert put.status_code == 200, put.json
        notifications = self.api("notifications")
        for person in (CASE_MANAGER, SUPERVISOR):
            prefs = notifications.put(
                f"/users/{person}/preferences", headers=admin, json={"channels": ["in_app"]}
            )
            assert prefs.status_code == 200, prefs.json
        # Planning learns the team from intake's event, a moment later: wait for it, as a person
        # would not notice but a test that acts at once does.
        planning, supervisor = self.api("planning"), self.as_(SUPERVISOR, "supervisor")
        assert wait_until(
            lambda: planning.get("/teams/north/worklist", headers=supervisor).status_code == 200,
            timeout=15,
        ), "planning never learned of team north"


def wsgi_backend(services: RunningServices, settings: WebSettings) -> Backend:
    transports = {
        name: WsgiTransport(services[name].create_app(), settings.service_urls[name])
        for name in SERVICE_NAMES
    }
    return Backend(settings.service_urls, transports=transports)


@pytest.fixture
def web_platform(data_dir: Path) -> Iterator[WebPlatform]:
    backend: TestBackend = embedded_backend()
    services = RunningServices(backend, data_dir, SERVICE_NAMES)
    services.start_workers()
    settings = web_settings(data_dir)
    app = create_app(settings, backend=wsgi_backend(services, settings))
    try:
        yield WebPlatform(services, app, settings)
    finally:
        services.shutdown()
        backend.drop_databases()


@pytest.fixture
def offline_app(data_dir: Path):  # type: ignore[no-untyped-def]
    """The web app with every service down (nothing listens on their ports)."""
    settings = web_settings(
        data_dir,
        service_urls={name: f"http://127.0.0.1:{free_port()}" for name in SERVICE_NAMES},
    )
    return create_app(settings, backend=Backend(settings.service_urls, timeout=2))


__all__ = ["WebPlatform", "wait_until"]
