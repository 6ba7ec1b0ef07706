"""The page the escalated crisis alert links to: break the glass with a stated reason, then the
client's crisis picture from intake and planning (services/web/emergency.py makes the calls)."""

from __future__ import annotations

from typing import Any

from flask import request

from services.web import emergency
from services.web.api.common import caller, page, pages, signed_in
from services.web.backend import ApiError


@pages.route("/clients/<client_id>/emergency-access", methods=["GET", "POST"])
@signed_in("on_call", "supervisor")
@page
def emergency_access(client_id: str) -> Any:
    reason = request.form.get("reason", "").strip() if request.method == "POST" else ""
    if not reason:
        return "emergency_access.html", {"client_id": client_id, "picture": None, "error": None}
    try:
        found = emergency.open_crisis_picture(caller(), client_id, reason)
    except ApiError as error:
        values = {"client_id": client_id, "picture": None, "error": error.plain_words}
        return "emergency_access.html", values, error.status if error.status < 500 else 503
    picture = {
        key: {"error": value.plain_words} if isinstance(value, ApiError) else value
        for key, value in found.items()
    }
    return "emergency_access.html", {"client_id": client_id, "picture": picture, "error": None}
