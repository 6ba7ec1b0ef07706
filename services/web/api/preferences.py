"""How a member of staff is reached: their e-mail address, channels, time zone, quiet hours and
daily digest, kept by notifications (crisis alerts ignore quiet hours and always reach them)."""

from __future__ import annotations

from typing import Any

from flask import redirect, request, url_for

from services.web import forms, screens
from services.web.api.common import STAFF, caller, flash, page, pages, refused_status, signed_in
from services.web.backend import ApiError
from services.web.refusals import refusal


@pages.get("/inbox/preferences")
@signed_in(*STAFF)
@page
def preferences() -> Any:
    return "preferences.html", {
        "saved": caller().get_or_none("notifications", "/me/preferences"),
        "form": None,
        "channels": screens.STAFF_CHANNELS,
    }


@pages.post("/inbox/preferences")
@signed_in(*STAFF)
@page
def save_preferences() -> Any:
    person = caller()
    try:
        person.send(
            "notifications", "PUT", "/me/preferences", screens.preferences_body(request.form)
        )
    except ApiError as error:
        return (
            "preferences.html",
            {
                "saved": person.get_or_none("notifications", "/me/preferences"),
                "form": request.form,
                "refusal": refusal(error, forms.PREFERENCES, request.form),
                "channels": screens.STAFF_CHANNELS,
            },
            refused_status(error),
        )
    flash("Saved: this is how Casehub reaches you now.", "info")
    return redirect(url_for("pages.preferences"))
