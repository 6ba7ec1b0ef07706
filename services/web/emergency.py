"""Break the glass from the browser: ask intake for emergency access with the person's reason,
then read the crisis picture from intake and planning (planning learns of the grant from
intake's event within seconds, so it is asked again until a deadline)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from services.web.backend import ApiError, Caller

#: How long the page waits for planning to hold the grant before showing what it has.
PLANNING_DEADLINE_SECONDS = 5.0
PICTURE = "/clients/{}/emergency-access/crisis-picture"


def _until_granted(read: Callable[[], Any], deadline: float) -> Any:
    """Planning answers 404 until intake's announcement reached it: ask again until the deadline."""
    while True:
        try:
            return read()
        except ApiError as error:
            if error.status != 404 or time.monotonic() >= deadline:
                return error
            time.sleep(0.2)


def open_crisis_picture(person: Caller, client_id: str, reason: str) -> dict[str, Any]:
    """Grant (audited, announced), then both parts of the picture; a part that could not be read
    is its ApiError, shown as such."""
    grant = person.send("intake", "POST", f"/clients/{client_id}/emergency-access", purpose=reason)
    path = PICTURE.format(client_id)
    deadline = time.monotonic() + PLANNING_DEADLINE_SECONDS
    results = person.gather(
        intake=lambda: person.send("intake", "GET", path, purpose=reason),
        planning=lambda: _until_granted(
            lambda: person.send("planning", "GET", path, purpose=reason), deadline
        ),
    )
    return {"grant": grant, **results}
