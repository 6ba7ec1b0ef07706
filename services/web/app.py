"""Wiring of the web app: settings built once, sessions loaded and saved around each request,
CSRF checked on every form, security headers on every answer. Run it with
``casehub api web`` (port 8000); ``casehub dev`` starts it first."""

from __future__ import annotations

import secrets
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from services.web import screens
from services.web.api import api_error_page, http_error_page, pages
from services.web.api.common import record_url
from services.web.backend import ApiError, Backend
from services.web.config import WEB_PORT, WebSettings
from services.web.context import WebContext
from services.web.sessions import METADATA, session_table_present
from shared.db import Database
from shared.metrics import render_metrics
from shared.service import FrontendSpec
from shared.web.observability import time_requests
from shared.web.request_context import accepted_request_id

COOKIE = "casehub_session"
HERE = Path(__file__).parent
#: Form posts and htmx requests must carry the session's CSRF token (field or header).
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def content_security_policy(settings: WebSettings) -> str:
    """No inline script or style; forms post here or (sign-in, sign-out) to the provider."""
    form_targets = ["'self'"]
    if settings.oidc:
        parts = urllib.parse.urlsplit(settings.oidc.discovery_url)
        form_targets.append(f"{parts.scheme}://{parts.netloc}")
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; form-action {' '.join(form_targets)}; frame-ancestors 'none'; "
        "base-uri 'none'; object-src 'none'"
    )


def create_app(settings: WebSettings | None = None, *, backend: Backend | None = None) -> Flask:
    settings = settings or WebSettings.from_env()
    context = WebContext.build(settings, backend)
    app = Flask(
        __name__,
        static_folder=str(HERE / "static"),
        template_folder=str(HERE / "templates"),
    )
    app.config.update(MAX_CONTENT_LENGTH=settings.platform.max_content_length)
    app.extensions["casehub_web"] = context
    app.jinja_env.autoescape = True
    app.jinja_env.filters["label"] = screens.label
    app.jinja_env.filters["when"] = screens.when
    app.jinja_env.filters["local_time"] = screens.local_time
    app.jinja_env.globals["record_url"] = record_url
    policy = content_security_policy(settings)

    @app.before_request
    def load_session() -> Any:
        g.request_id = accepted_request_id(request.headers.get("X-Request-ID"))
        now = datetime.now(UTC)
        session = context.store.load(request.cookies.get(COOKIE), now)
        g.web_session = session or context.store.new(now)
        g.cookie_id = session.id if session else None
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
            expected = g.web_session.data.get("csrf") or ""
            if not expected or not secrets.compare_digest(sent, expected):
                return http_error_page(_BadCsrf())
        return None

    @app.context_processor
    def page_globals() -> dict[str, Any]:
        session = g.get("web_session")
        person = session.data if session is not None and session.signed_in else None
        person_roles = set((person or {}).get("roles") or [])
        return {
            "person": person,
            "person_roles": person_roles,
            "can": lambda *wanted: bool(person_roles & set(wanted)),
            "csrf_token": session.csrf_token if session is not None else "",
            # A page's own background check shows no messages: it must not use them up.
            "flashes": session.pop("flash") or []
            if session is not None and not g.get("passive")
            else [],
            "alert_poll_seconds": settings.alert_poll_seconds,
        }

    @app.after_request
    def save_session(response: Response) -> Response:
        session = g.get("web_session")
        if session is not None:
            context.store.save(session, datetime.now(UTC), activity=not g.get("passive"))
            if session.id != g.get("cookie_id") and not session.is_new:
                response.set_cookie(
                    COOKIE,
                    session.id,
                    max_age=settings.session_hours * 3600,
                    secure=settings.secure_cookies,
                    httponly=True,
                    samesite="Lax",
                    path="/",
                )
            elif g.get("cookie_id") and session.is_new:
                response.delete_cookie(COOKIE, path="/")
        response.headers["Content-Security-Policy"] = policy
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if not request.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    time_requests(app, "web")
    if settings.platform.metrics_port is None:

        @app.get("/metrics")
        def metrics() -> Response:
            """The web app's own figures (request durations by page, status): on its metrics
            port when it has one (the manifests), else here (the embedded default)."""
            body, content_type = render_metrics()
            return Response(body, content_type=content_type)

    @app.get("/readyz")
    def readyz() -> Any:
        try:
            context.store.database.ping()
        except Exception as error:  # any database failure means not ready
            return {"status": "unavailable", "database": type(error).__name__}, 503
        return {"status": "ok"}

    app.register_blueprint(pages)
    app.register_error_handler(ApiError, api_error_page)
    app.register_error_handler(HTTPException, http_error_page)
    return app


class _BadCsrf(HTTPException):
    code = 400


def _create_session_tables(settings: WebSettings) -> None:
    database = Database(settings.database_url)
    try:
        METADATA.create_all(database.engine)
    finally:
        database.dispose()


def _session_tables_present(settings: WebSettings) -> bool:
    """Asked every 2 s by ``casehub migrate web --check``: each check closes its connections."""
    database = Database(settings.database_url)
    try:
        return session_table_present(database)
    finally:
        database.dispose()


#: What ``casehub api web``, ``casehub migrate web`` and ``casehub dev`` need of the web app.
FRONTEND = FrontendSpec(
    name="web",
    port=WEB_PORT,
    load_settings=lambda bind_host: WebSettings.from_env(bind_host=bind_host),
    create_app=create_app,
    migrate=_create_session_tables,
    migrated=_session_tables_present,
)
