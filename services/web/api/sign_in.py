"""Signing in (OpenID Connect or, on the embedded default, a demo person) and out."""

from __future__ import annotations

import time
from typing import Any

from flask import abort, g, redirect, request, url_for

from services.web.api.common import (
    end_session,
    flash,
    home_for,
    pages,
    render,
    safe_next,
    start_session,
    web,
)
from services.web.context import DEMO_PEOPLE
from services.web.oidc import SignInFailed
from shared.web.auth import mint_token


@pages.get("/sign-in")
def sign_in() -> Any:
    if g.web_session.signed_in:
        return redirect(safe_next(request.args.get("next")))
    context = web()
    return render(
        "sign_in.html",
        next=safe_next(request.args.get("next")),
        oidc=context.provider is not None,
        people=DEMO_PEOPLE if context.settings.development_sign_in else [],
    )


@pages.post("/sign-in/start")
def sign_in_start() -> Any:
    provider = web().provider
    if provider is None:
        abort(404)
    try:
        url, pending = provider.begin(_callback_url())
    except SignInFailed as why:
        flash(str(why), "error")
        return redirect(url_for("pages.sign_in"))
    g.web_session.set("oidc", {**pending, "next": safe_next(request.form.get("next"))})
    return redirect(url)


def _external(path: str) -> str:
    base = web().settings.public_url or request.host_url.rstrip("/")
    return base + path


def _callback_url() -> str:
    return _external(url_for("pages.sign_in_callback"))


@pages.get("/auth/callback")
def sign_in_callback() -> Any:
    provider = web().provider
    if provider is None:
        abort(404)
    pending = g.web_session.data.get("oidc") or {}
    try:
        person = provider.finish(_callback_url(), request.args, pending)
    except SignInFailed as why:
        g.web_session.pop("oidc")
        flash(str(why), "error")
        return redirect(url_for("pages.sign_in"))
    start_session(person.as_session())
    return redirect(pending.get("next") or home_for(set(person.roles)))


@pages.post("/sign-in/development")
def sign_in_development() -> Any:
    """Pick a demo person (embedded default on loopback only; otherwise this page is a 404)."""
    context = web()
    if not context.settings.development_sign_in:
        abort(404)
    person = next((p for p in DEMO_PEOPLE if p.sub == request.form.get("person")), None)
    if person is None:
        abort(400)
    lifetime = context.settings.session_hours * 3600
    token = mint_token(
        context.settings.platform, person.sub, person.roles, org=person.org, ttl_seconds=lifetime
    )
    start_session(
        {
            "sub": person.sub,
            "name": person.name,
            "roles": list(person.roles),
            "access_token": token,
            "refresh_token": None,
            "expires_at": time.time() + lifetime,
            "id_token": None,
        }
    )
    target = safe_next(request.form.get("next"))
    return redirect(home_for(set(person.roles)) if target == "/" else target)


@pages.post("/sign-out")
def sign_out() -> Any:
    id_token = g.web_session.data.get("id_token")
    end_session()
    provider = web().provider
    after = _external(url_for("pages.sign_in"))
    target = provider.logout_url(id_token, after) if provider is not None else None
    return redirect(target or url_for("pages.sign_in"))
