"""A discharged client's record. Nobody carries the client any more, so most of what the record
offers would be refused: it offers what still works (re-admission, withdrawing a consent or the
reminders, the discharge summary while the hand-over period lasts) and says why the rest is not
there. The former case manager no longer sees the client in intake at all: for the hand-over
period (planning's continuity access) they get the casework and the summary read-only, after it
a page that says so, never a bare "not found"."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.web import screens
from services.web.api.common import attempt, value_or
from services.web.backend import ApiError, Caller

#: What the former case manager reads when intake no longer shows them the client, whether or
#: not the client exists (a person may not learn of a client who is not theirs).
NOT_YOURS = (
    "There is no client here that you may see. A client you carried stays open to you, "
    "read-only, for the hand-over period after their discharge; after that, or for a client "
    "who was never yours, ask your supervisor."
)


def discharge_facts(client: Mapping[str, Any]) -> dict[str, Any] | None:
    """When and why a discharged client's latest episode closed (None while it is open)."""
    if client.get("status") != "discharged":
        return None
    closed = [e for e in client.get("episodes") or [] if e.get("closed_at")]
    last = max(closed, key=lambda e: str(e["closed_at"]), default={})
    reason = last.get("discharge_reason")
    return {
        "at": last.get("closed_at"),
        "reason": dict(screens.DISCHARGE_REASONS).get(reason, screens.label(reason)) or None,
    }


def client_or_reference(found: Any, client_id: str, reference: str) -> tuple[dict[str, Any], bool]:
    """The client as intake answers for a casework page (a contact, an appointment), and
    whether anything may be written on it. Intake no longer shows a discharged client to the
    former case manager, who still reads the casework for the hand-over period: the page then
    names the client by reference, read-only. Any other refusal or failure is raised."""
    if isinstance(found, ApiError):
        if found.status != 404:
            raise found
        return {"id": client_id, "reference": reference, "given_name": reference}, False
    return found, found.get("status") != "discharged"


def former_record(person: Caller, client_id: str) -> tuple[str, dict[str, Any], int]:
    """The record as the former case manager (or supervisor) still reads it in planning during
    the hand-over period; outside it, or for any other client, a page saying why there is
    nothing to show (404)."""
    results = person.gather(
        summary=lambda: person.get_or_none("planning", f"/clients/{client_id}/discharge-summary"),
        casework=lambda: person.get("planning", f"/clients/{client_id}/casework", limit=200),
    )
    summary = results["summary"]
    if isinstance(summary, ApiError):
        raise summary
    if not summary or not summary.get("discharged_at"):
        return "error.html", {"status": 404, "message": NOT_YOURS}, 404
    plans, contacts, appointments = _casework_lists(person, client_id, results["casework"])
    return (
        "former_client.html",
        {
            "client_id": client_id,
            "summary": summary,
            "reason": dict(screens.DISCHARGE_REASONS).get(summary.get("reason") or "")
            or summary.get("reason"),
            "plans": plans,
            "contacts": contacts,
            "appointments": appointments,
        },
        200,
    )


def _casework_lists(person: Caller, client_id: str, found: Any) -> tuple[list[Any], ...]:
    """Plans, contacts and appointments the former carer still reads (empty when refused)."""
    if found is None or isinstance(found, ApiError):
        value_or(found)
        return [], [], []

    def whole(name: str, path: str, **params: Any) -> list[Any]:
        if found.get(name) is None:
            return []
        return value_or(attempt(lambda: person.rest("planning", path, found[name], **params)), [])

    return (
        whole("plans", "/plans", client_id=client_id),
        whole("contacts", f"/clients/{client_id}/contacts"),
        whole("appointments", f"/clients/{client_id}/appointments"),
    )
