"""What every request of the web app shares, built once by app.py: settings, the session
store, the backend clients and the identity provider."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from services.web.backend import Backend
from services.web.config import WebSettings
from services.web.oidc import Provider
from services.web.sessions import SessionStore
from shared.db import Database


@dataclass(frozen=True)
class DemoPerson:
    sub: str
    name: str
    roles: tuple[str, ...]
    org: str | None = None

    @property
    def role_label(self) -> str:
        return ", ".join(role.replace("_", " ") for role in self.roles)


#: The people of ``casehub dev``'s demo data (services/demo.py), for the development sign-in.
DEMO_PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson("cm-ana", "Ana Ortiz", ("case_manager",)),
    DemoPerson("cm-ben", "Ben Adeyemi", ("case_manager",)),
    DemoPerson("sup-maria", "Maria Santos", ("supervisor",)),
    DemoPerson("iw-demo", "Ivy Walsh", ("intake_worker",)),
    DemoPerson("on-call-demo", "Omar Cole", ("on_call",)),
    DemoPerson("admin-demo", "Ada Admin", ("admin",)),
)


@dataclass
class WebContext:
    settings: WebSettings
    store: SessionStore
    backend: Backend
    provider: Provider | None

    @classmethod
    def build(cls, settings: WebSettings, backend: Backend | None = None) -> WebContext:
        store = SessionStore(
            Database(settings.database_url),
            idle=timedelta(minutes=settings.idle_minutes),
            lifetime=timedelta(hours=settings.session_hours),
        )
        store.create_schema()
        provider = (
            Provider(settings.oidc, settings.roles_claim, settings.api_timeout)
            if settings.oidc
            else None
        )
        return cls(
            settings,
            store,
            backend or Backend(settings.service_urls, settings.api_timeout),
            provider,
        )
