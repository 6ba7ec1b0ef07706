"""The web app's settings, read once from the environment (app.py builds them)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.config import (
    DEVELOPMENT_JWT_SECRET,
    LOOPBACK_HOST,
    SERVICE_NAMES,
    SERVICE_PORTS,
    Settings,
    is_loopback_bind,
)

WEB_PORT = 8000
#: Health data: a session left alone this long is over (minutes, ``WEB_IDLE_TIMEOUT_MINUTES``).
DEFAULT_IDLE_MINUTES = 15
#: However active, a session ends after this long (hours, ``WEB_SESSION_HOURS``).
DEFAULT_SESSION_HOURS = 12
#: An open page asks this often whether a crisis alert has come for the person (seconds,
#: ``WEB_ALERT_POLL_SECONDS``; 0 turns it off: the banner then changes only with a new page).
DEFAULT_ALERT_POLL_SECONDS = 30


@dataclass(frozen=True)
class OidcSettings:
    """The agency's OpenID provider: discovery document, this app's client registration."""

    discovery_url: str
    client_id: str
    client_secret: str | None
    scope: str = "openid profile offline_access"
    #: The resource (RFC 8707) the APIs accept tokens for, when the provider needs one named.
    resource: str | None = None


@dataclass(frozen=True)
class WebSettings:
    platform: Settings
    service_urls: Mapping[str, str]
    bind_host: str = LOOPBACK_HOST
    oidc: OidcSettings | None = None
    idle_minutes: int = DEFAULT_IDLE_MINUTES
    session_hours: int = DEFAULT_SESSION_HOURS
    #: Where the browser reaches this app (links, OIDC redirect); None: the request's own host.
    public_url: str | None = None
    api_timeout: float = 10.0
    alert_poll_seconds: int = DEFAULT_ALERT_POLL_SECONDS
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def database_url(self) -> str:
        return self.platform.database_url

    @property
    def roles_claim(self) -> str:
        return self.platform.jwt_roles_claim

    @property
    def secure_cookies(self) -> bool:
        """Cookies travel over HTTPS only, except for an app on this machine over plain HTTP."""
        if self.public_url:
            return self.public_url.startswith("https://")
        return not is_loopback_bind(self.bind_host)

    @property
    def development_sign_in(self) -> bool:
        """Pick a demo person without an identity provider: only the embedded default on
        loopback with the development secret, exactly when ``casehub api`` accepts that secret."""
        return (
            self.oidc is None
            and self.platform.is_embedded_default
            and is_loopback_bind(self.bind_host)
            and self.platform.jwt_secret == DEVELOPMENT_JWT_SECRET
        )

    def startup_problem(self) -> str | None:
        """Why the app must not start: nobody could sign in. (Session ids are random and kept
        server-side, so no cookie-signing secret exists to leak.)"""
        if self.oidc is None and not self.development_sign_in:
            return (
                "no identity provider configured: set WEB_OIDC_DISCOVERY_URL and WEB_OIDC_CLIENT_ID "
                "(the development sign-in exists only on the embedded default, on loopback, with "
                "the development secret)"
            )
        return None

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, bind_host: str = LOOPBACK_HOST
    ) -> WebSettings:
        env = os.environ if env is None else env
        platform = Settings.from_env("web", env)
        urls = {
            name: (
                env.get(f"CASEHUB_{name.upper()}_URL") or f"http://127.0.0.1:{SERVICE_PORTS[name]}"
            ).rstrip("/")
            for name in SERVICE_NAMES
        }
        oidc = None
        if env.get("WEB_OIDC_DISCOVERY_URL"):
            oidc = OidcSettings(
                discovery_url=env["WEB_OIDC_DISCOVERY_URL"],
                client_id=env.get("WEB_OIDC_CLIENT_ID", "casehub-web"),
                client_secret=env.get("WEB_OIDC_CLIENT_SECRET") or None,
                scope=env.get("WEB_OIDC_SCOPE", "openid profile offline_access"),
                resource=env.get("WEB_OIDC_RESOURCE") or None,
            )
        return cls(
            platform=platform,
            service_urls=urls,
            bind_host=bind_host,
            oidc=oidc,
            idle_minutes=int(env.get("WEB_IDLE_TIMEOUT_MINUTES", DEFAULT_IDLE_MINUTES)),
            session_hours=int(env.get("WEB_SESSION_HOURS", DEFAULT_SESSION_HOURS)),
            # Where people open the app: the links in notifications name it too.
            public_url=(env.get("WEB_PUBLIC_URL") or env.get("CASEHUB_APP_URL") or "").rstrip("/")
            or None,
            api_timeout=float(env.get("WEB_API_TIMEOUT", "10")),
            alert_poll_seconds=max(
                0, int(env.get("WEB_ALERT_POLL_SECONDS", DEFAULT_ALERT_POLL_SECONDS))
            ),
        )
