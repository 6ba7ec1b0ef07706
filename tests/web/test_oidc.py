"""Sign-in through a real OpenID provider (oidc-provider on Node): code flow with PKCE, the
services verifying the provider's own access tokens by its JWKS, refresh before expiry, a new
session id at sign-in, and RP-initiated logout. No stand-in for the provider."""

from __future__ import annotations

import dataclasses
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.web.app import COOKIE, create_app
from services.web.config import OidcSettings
from shared.config import SERVICE_NAMES, Settings
from tests.support.backends import embedded_backend
from tests.support.oidc import WEB_CLIENT_ID, WEB_CLIENT_SECRET, OpenIdProvider
from tests.support.services import RunningServices
from tests.web.conftest import Person, WebPlatform, web_settings, wsgi_backend

PUBLIC = "http://127.0.0.1:8999"  # what the browser would call the app; the test client serves it
CALLBACK = f"{PUBLIC}/auth/callback"


@pytest.fixture
def provider() -> Iterator[OpenIdProvider]:
    # A 31 s access token: 30 s before expiry the app refreshes, so every page refreshes here.
    running = OpenIdProvider([CALLBACK], [f"{PUBLIC}/sign-in"], access_token_seconds=31).start()
    yield running
    running.stop()


@pytest.fixture
def oidc_platform(data_dir: Path, provider: OpenIdProvider) -> Iterator[WebPlatform]:
    def trust_the_provider(settings: Settings) -> Settings:
        return dataclasses.replace(
            settings, jwt_jwks_url=provider.jwks_url, jwt_issuer=provider.issuer
        )

    backend = embedded_backend()
    services = RunningServices(backend, data_dir, SERVICE_NAMES, configure=trust_the_provider)
    settings = web_settings(
        data_dir,
        public_url=PUBLIC,
        oidc=OidcSettings(
            discovery_url=provider.discovery_url,
            client_id=WEB_CLIENT_ID,
            client_secret=WEB_CLIENT_SECRET,
            scope="openid profile offline_access casehub",
        ),
    )
    app = create_app(settings, backend=wsgi_backend(services, settings))
    yield WebPlatform(services, app, settings)
    services.shutdown()


def sign_in_at_provider(person: Person, provider: OpenIdProvider, login: str) -> str:
    """The browser's trip: our sign-in button, the provider's login form, back to the callback."""
    person.get("/sign-in")
    started = person.post("/sign-in/start", {"next": "/caseload"})
    assert started.status_code == 302
    assert started.headers["Location"].startswith(provider.issuer)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(started.headers["Location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    back = provider.log_in(started.headers["Location"], login, CALLBACK)
    answered = person.get(back.removeprefix(PUBLIC))
    assert answered.status_code == 302, answered.get_data(as_text=True)[-600:]
    return str(answered.headers["Location"])


def _cookie(person: Person) -> str | None:
    cookie = person.http.get_cookie(COOKIE)
    return cookie.value if cookie else None


def test_sign_in_through_the_provider_and_the_services_accept_its_tokens(
    oidc_platform: WebPlatform, provider: OpenIdProvider
) -> None:
    person = Person(oidc_platform.app)
    page = person.text("/sign-in")
    assert "Sign in with your agency account" in page
    assert "Development sign-in" not in page  # there is an identity provider: no demo people
    before = _cookie(person)
    landed = sign_in_at_provider(person, provider, "sup-maria")
    assert landed == "/caseload", person.text(landed)[-1500:]
    assert _cookie(person) not in (None, before)  # a new session id at sign-in
    team = person.text("/team")  # intake answered with the provider's token: no 401
    assert "Team dashboard" in team, (
        team[team.find("<main") :] and "Maria Santos (supervisor)" in team
    )
    # 30 s before the 31 s token expires the app refreshes it: pages keep opening
    time.sleep(1.5)  # past that point for sure
    again = person.text("/team")
    assert "Team dashboard" in again, again[again.find("<main") :]
    signed_out = person.post("/sign-out")
    assert signed_out.headers["Location"].startswith(f"{provider.issuer}/session/end")
    assert "id_token_hint=" in signed_out.headers["Location"]
    assert person.get("/team").status_code == 302  # signed out here too


def test_a_callback_with_a_forged_state_signs_nobody_in(
    oidc_platform: WebPlatform, provider: OpenIdProvider
) -> None:
    person = Person(oidc_platform.app)
    person.get("/sign-in")
    person.post("/sign-in/start", {"next": "/"})
    refused = person.get("/auth/callback?code=stolen&state=forged", follow_redirects=True)
    assert "stale or was not started here" in refused.get_data(as_text=True)
    assert person.get("/caseload").status_code == 302


def test_the_development_sign_in_does_not_exist_beside_a_provider(
    oidc_platform: WebPlatform,
) -> None:
    person = Person(oidc_platform.app)
    person.get("/sign-in")
    assert person.post("/sign-in/development", {"person": "cm-ana"}).status_code == 404
