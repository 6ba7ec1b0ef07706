"""What every page shares: the blueprint, the signed-in person, the session, rendering."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for

from services.web import screens
from services.web.backend import ApiError, Caller
from services.web.context import WebContext
from services.web.oidc import SignInFailed, needs_refresh

pages = Blueprint("pages", __name__)
F = TypeVar("F", bound=Callable[..., Any])
STAFF = ("intake_worker", "case_manager", "supervisor", "admin")
CASEWORK = ("case_manager", "supervisor", "admin")
EDITORS = ("case_manager", "supervisor")


def web() -> WebContext:
    return current_app.extensions["casehub_web"]


def caller() -> Caller:
    return g.caller


def roles() -> set[str]:
    return set(g.web_session.data.get("roles") or [])


def flash(message: str, kind: str = "info") -> None:
    messages = list(g.web_session.data.get("flash") or [])
    messages.append({"text": message, "kind": kind})
    g.web_session.set("flash", messages)


def safe_next(target: str | None) -> str:
    """Only a path on this site: a sign-in never sends the person to another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def signed_in(*allowed: str) -> Callable[[F], F]:
    """The page needs a signed-in person (else to the sign-in page, coming back here) holding
    one of ``allowed`` roles (else 403)."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            session = g.web_session
            if not session.signed_in:
                return redirect(url_for("pages.sign_in", next=request.full_path.rstrip("?")))
            if not fresh_tokens():
                return redirect(url_for("pages.sign_in", next=request.full_path.rstrip("?")))
            if allowed and not roles() & set(allowed):
                abort(403)
            start_calling()
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def start_calling() -> None:
    """The APIs are called with the signed-in person's token, under this request's id."""
    g.caller = Caller(web().backend, g.web_session.data["access_token"], g.request_id)


def fresh_tokens() -> bool:
    """Refresh the access token shortly before it expires; False if the person must sign in."""
    session = g.web_session
    if not needs_refresh(session.data, time.time()):
        return True
    provider = web().provider
    if provider is None:
        end_session()
        return False
    try:
        refreshed = provider.refresh(session.data)
    except SignInFailed as why:
        end_session()
        flash(str(why), "error")
        return False
    for key, value in refreshed.as_session().items():
        session.set(key, value)
    return True


def end_session() -> None:
    web().store.destroy(g.web_session)
    g.web_session = web().store.new(datetime.now(UTC))


def start_session(values: dict[str, Any]) -> None:
    """Signed in: a new session id (fixation), the old one and its sign-in state gone."""
    old = g.web_session
    old.pop("oidc")
    fresh = web().store.rotate(old, datetime.now(UTC))
    for key, value in values.items():
        fresh.set(key, value)
    g.web_session = fresh


def home_for(person_roles: set[str]) -> str:
    if "case_manager" in person_roles:
        return url_for("pages.caseload")
    if person_roles & {"supervisor", "admin"}:
        return url_for("pages.team")
    if "intake_worker" in person_roles:
        return url_for("pages.intake")
    return url_for("pages.on_call")


def render(template: str, **values: Any) -> str:
    """``refusal``: a refused form's (services/web/refusals.py), for its messages and summary."""
    urgent, unknown = g.get("urgent") or [], g.get("urgent_unknown")
    values.setdefault("refusal", None)
    return render_template(
        template,
        urgent_alerts=urgent,
        alerts_unknown=unknown,
        banner_state=screens.banner_state(urgent, unknown),
        incomplete=g.get("incomplete") or [],
        **values,
    )


def record_url(client_id: str) -> str:
    """The client record's address, as ``url_for`` builds it (its prefix once a request, the id
    quoted by the route's own converter): lists link each row to one, and building the route
    afresh for each row was a third of rendering a caseload's 50 rows."""
    built = g.get("record_url_parts")
    if built is None:
        url_map = current_app.url_map
        built = g.record_url_parts = (
            url_for("pages.client_record", client_id="-")[:-1],
            url_map.converters["default"](url_map).to_url,
        )
    prefix, quote = built
    return prefix + quote(client_id)


def open_urgent_alerts(person: Caller) -> list[dict[str, Any]]:
    """Every urgent alert of mine nobody has acknowledged, however many other items are newer:
    the crisis banner stays until each is acknowledged."""
    return person.items(
        "notifications", "/me/notifications", urgent="true", unacknowledged="true", limit=50
    )


def on_call_queue(person: Caller) -> list[dict[str, Any]]:
    """Crisis alerts that reached on-call and wait for someone to acknowledge them, the longest
    waiting first, in the banner's shape: read once a page (the On call page lists what its
    banner shows)."""
    return person.once("on_call_queue", lambda: _on_call_queue(person))


def _on_call_queue(person: Caller) -> list[dict[str, Any]]:
    return [
        {
            "notification_id": alert["id"],
            "subject": alert["subject"],
            "urgency": alert["urgency"],
            "client_id": alert.get("client_id"),
            "client_reference": alert.get("client_reference"),
            "created_at": alert["created_at"],
            "escalation_level": alert.get("escalation_level"),
            "acknowledged_at": alert.get("acknowledged_at"),
        }
        for alert in person.items("notifications", "/notifications/on-call", limit=50)
    ]


#: Who the crisis banner is for: staff see the urgent alerts of their inbox, on-call what
#: reached on-call (someone holding both sees both).
BANNER_ROLES = (*STAFF, "on_call")


def urgent_in(person: Caller) -> Callable[[], list[dict[str, Any]] | ApiError]:
    """The banner's alerts, or why they could not be had: a banner that silently shows
    nothing when notifications does not answer would read as "no crisis alert waiting"."""
    person_roles = roles()

    def fetch() -> list[dict[str, Any]] | ApiError:
        try:
            alerts = []
            if person_roles & set(STAFF):
                alerts = screens.urgent_alerts(open_urgent_alerts(person))
            if "on_call" in person_roles:
                shown = {alert["notification_id"] for alert in alerts}
                alerts += [a for a in on_call_queue(person) if a["notification_id"] not in shown]
            return alerts
        except ApiError as error:
            return error

    return fetch


def page(view: F) -> F:
    """A page: the banner's alerts fetched beside the page's calls, then the template. An
    htmx request for part of a page (the caseload's rows as the search is typed) has no
    banner to show: its alerts are fetched only if a whole page comes back after all."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        fetch = urgent_in(caller())
        future = None if request.headers.get("HX-Request") else web().backend.submit(fetch)
        result = view(*args, **kwargs)
        if isinstance(result, tuple) and isinstance(result[0], str) and result[0].endswith(".html"):
            template, values, *status = result
            if future is not None or not template.startswith("partials/"):
                note_urgent(future.result() if future is not None else fetch())
            return (render(template, **values), *status) if status else render(template, **values)
        if future is not None:
            note_urgent(future.result())
        return result

    return wrapper  # type: ignore[return-value]


def note_urgent(found: list[dict[str, Any]] | ApiError) -> None:
    """The banner's alerts for the page, or why they could not be had."""
    if isinstance(found, ApiError):
        g.urgent, g.urgent_unknown = [], found.plain_words
    else:
        g.urgent, g.urgent_unknown = found, None


def value_or(result: Any, default: Any = None) -> Any:
    """A call's value, or ``default`` when it was refused or failed. A refusal (this person may
    not see it) leaves the part out quietly; an outage is also noted for the page to say it
    is incomplete, so an empty list there never reads as "none" (no plan, no risk flag)."""
    if isinstance(result, ApiError):
        note_outage(result)
        return default
    return default if result is None else result


def note_outage(error: ApiError) -> None:
    """Have the page say it is incomplete, and why, when a call it shows failed."""
    if error.is_outage:
        noted = g.setdefault("incomplete", [])
        if error.plain_words not in noted:
            noted.append(error.plain_words)


def refused_status(error: ApiError) -> int:
    """A refused form's status when shown again: the service's own refusal (400-499), or 503
    when the service failed (what was typed is kept either way)."""
    return error.status if 400 <= error.status < 500 else 503


def attempt(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except ApiError as error:
        return error
