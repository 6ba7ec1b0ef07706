"""The page the escalated crisis alert links to: break the glass with a stated reason, then the
client's crisis picture from intake and planning (services/web/emergency.py makes the calls)."""

from __future__ import annotations

from typing import Any

from flask import request

from services.web import emergency
from services.web.api.common import caller, page, pages, signed_in
from services.web.backend import ApiError

#: The fewest characters a reason to break the glass may have: it is what the audit trail and
#: the client's supervisor read of why a record was opened ("x" says nothing).
MINIMUM_REASON = 10
TOO_SHORT = (
    f"Say in a few words why you need this access now (at least {MINIMUM_REASON} characters, "
    "e.g. “crisis call, client at risk tonight”): the audit trail keeps it and the client's "
    "supervisor is told."
)


@pages.route("/clients/<client_id>/emergency-access", methods=["GET", "POST"])
@signed_in("on_call", "supervisor")
@page
def emergency_access(client_id: str) -> Any:
    reason = " ".join(request.form.get("reason", "").split())
    if request.method != "POST":
        return "emergency_access.html", {"client_id": client_id, "picture": None, "error": None}
    if len(reason) < MINIMUM_REASON:
        values = {"client_id": client_id, "picture": None, "reason": reason}
        return "emergency_access.html", {**values, "error": TOO_SHORT}, 422
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
