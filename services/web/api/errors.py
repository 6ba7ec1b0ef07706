"""Error pages: an API's refusal or an HTTP error in plain words."""

from __future__ import annotations

from typing import Any

from services.web.api.common import (
    render,
)
from services.web.backend import ApiError


def api_error_page(error: ApiError) -> tuple[str, int]:
    """An API's refusal in plain words; what the APIs would answer 404 to is simply not found."""
    status = error.status if error.status in (400, 403, 404, 409, 422) else 503
    return render("error.html", status=status, message=error.plain_words), status


def http_error_page(error: Any) -> tuple[str, int]:
    status = getattr(error, "code", 500) or 500
    messages = {
        400: "The form could not be used (it may have expired). Go back, reload and try again.",
        403: "Your role does not include this page.",
        404: "There is no such page, or it is not yours to see.",
        405: "That action is not available here.",
    }
    return render(
        "error.html", status=status, message=messages.get(status, "Something went wrong.")
    ), status
