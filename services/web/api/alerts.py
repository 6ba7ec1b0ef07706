"""The inbox, crisis alerts and their acknowledgement, and the on-call view."""

from __future__ import annotations

from typing import Any

from flask import abort, g, redirect, render_template, request, url_for

from services.web import screens
from services.web.api.common import (
    BANNER_ROLES,
    STAFF,
    attempt,
    caller,
    flash,
    fresh_tokens,
    note_outage,
    note_urgent,
    on_call_queue,
    page,
    pages,
    render,
    roles,
    safe_next,
    signed_in,
    start_calling,
    urgent_in,
    value_or,
)
from services.web.backend import ApiError, Caller


@pages.get("/inbox")
@signed_in(*STAFF)
@page
def inbox() -> Any:
    items = caller().get("notifications", "/me/notifications", limit=100)["items"]
    return "inbox.html", {"items": items}


@pages.post("/notifications/<notification_id>/acknowledge")
@signed_in(*STAFF, "on_call")
def acknowledge(notification_id: str) -> Any:
    try:
        result = caller().send(
            "notifications", "POST", f"/notifications/{notification_id}/acknowledge"
        )
        message, kind = "Alert acknowledged: escalation stopped.", "info"
    except ApiError as error:
        result, message, kind = None, error.plain_words, "error"
    if request.headers.get("HX-Request"):
        answer = render_template(
            "partials/ack_result.html", message=message, kind=kind, result=result
        )
        return answer, {"HX-Trigger": BANNER_CHANGED}  # the banner drops the alert now
    flash(message, kind)
    return redirect(
        safe_next(request.form.get("back"))
        if request.form.get("back")
        else url_for("pages.notification", notification_id=notification_id)
    )


#: The event on which an open page's crisis banner checks again at once (see crisis_banner.html).
BANNER_CHANGED = "crisis-banner-changed"
#: htmx stops an element's polling on this status (the session is over).
STOP_POLLING = 286


@pages.get("/crisis-banner")
def crisis_banner() -> Any:
    """The crisis banner alone, which an open page asks for every ``alert_poll_seconds``: an
    alert raised while someone reads a page reaches them there, not at their next click. The
    check is not activity (an unattended screen still times out); a banner unchanged since
    ``shown`` comes back as 204, which htmx leaves in place; once the session is over the
    page says so and stops asking."""
    g.passive = True
    if not g.web_session.signed_in or not fresh_tokens():
        return render_template("partials/crisis_banner.html", signed_out=True), STOP_POLLING
    if not roles() & set(BANNER_ROLES):
        abort(403)
    start_calling()
    note_urgent(urgent_in(caller())())
    if request.args.get("shown") == screens.banner_state(g.urgent, g.urgent_unknown):
        return "", 204
    return render("partials/crisis_banner.html")


@pages.get("/notifications/<notification_id>")
@signed_in(*STAFF, "on_call")
@page
def notification(notification_id: str) -> Any:
    """Where every notification's link lands: the alert, and for a crisis the client's risk
    reasons and safety plan (as far as this person may see them)."""
    person = caller()
    item = None  # not in my inbox: the page says what is known
    if roles() & set(STAFF):
        item = person.get_or_none("notifications", f"/me/notifications/{notification_id}")
    on_call = None  # on-call: the alert as it reached on-call, waiting or acknowledged
    if item is None and "on_call" in roles():
        on_call = on_call_alert(person, notification_id)
    client, flags, safety_plan, plan_id = None, [], None, None
    reference = (item or {}).get("client_reference")
    if reference and roles() & set(STAFF):
        found = value_or(
            attempt(lambda: person.get("intake", "/clients", reference=reference, limit=1)),
            {"items": []},
        )["items"]
        if found:
            client = found[0]
            results = person.gather(
                flags=lambda: person.items("intake", f"/clients/{client['id']}/risk-flags"),
                plans=lambda: person.items("planning", "/plans", client_id=client["id"]),
            )
            flags = [f for f in value_or(results["flags"], []) if f["status"] == "open"]
            current = screens.latest(
                [p for p in value_or(results["plans"], []) if p["status"] != "closed"], "created_at"
            )
            if current:
                plan_id = current["id"]
                safety_plan = current["working_version"]["content"].get("safety_plan")
    return "notification.html", {
        "notification_id": notification_id,
        "item": item,
        "on_call": on_call,
        "client": client,
        "flags": flags,
        "safety_plan": safety_plan,
        "plan_id": plan_id,
        "sections": screens.SAFETY_PLAN_SECTIONS,
    }


def on_call_alert(person: Caller, notification_id: str) -> dict[str, Any] | None:
    """The alert as on-call sees it, or None when it never reached on-call (the page then says
    what is known: it can still be acknowledged by whoever it reached)."""
    try:
        return person.get_or_none("notifications", f"/notifications/on-call/{notification_id}")
    except ApiError as error:
        note_outage(error)
        return None


@pages.get("/on-call")
@signed_in("on_call")
@page
def on_call() -> Any:
    """The alerts waiting for on-call, the longest first (each opens the alert, where it is
    acknowledged; a new one shows in the banner above while the page is open), and the
    handover: who took which alert in the last 24 hours."""
    person = caller()
    results = person.gather(
        queue=lambda: on_call_queue(person),
        handover=lambda: person.items(
            "notifications", "/notifications/on-call", acknowledged="true", limit=50
        ),
    )
    return "on_call.html", {
        "queue": value_or(results["queue"], None),
        "handover": value_or(results["handover"], None),
    }
