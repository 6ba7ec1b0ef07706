"""The two answers read most, written as JSON by hand: a caseload page and a client record (a
search page holds 50). Each is exactly what its marshmallow schema in ``schemas`` dumps (the
documented OpenAPI shape); tests hold the two equal field for field, so the schema stays the
contract and this the fast path."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def caseload_entry_json(entry: Any) -> dict[str, Any]:
    """What ``CaseloadEntry().dump(entry)`` gives, written out: marshmallow took a third of a
    caseload request's CPU for these flat rows (a test holds the two equal, field for field).
    The client's text fields come from ``String`` columns, already ``str`` (or None) as
    marshmallow's ``String`` would dump them."""
    client = entry.client
    born, due, contact = client["date_of_birth"], entry.next_review_due, entry.last_contact_at
    return {
        "client": {
            "id": client["id"],
            "reference": client["reference"],
            "status": client["status"],
            "given_name": client["given_name"],
            "family_name": client["family_name"],
            "date_of_birth": None if born is None else born.isoformat(),
            "preferred_language": client["preferred_language"],
            "case_manager_id": client["case_manager_id"],
        },
        "highest_open_risk": _text(entry.highest_open_risk),
        "open_risk_flags": None if entry.open_risk_flags is None else int(entry.open_risk_flags),
        "next_review_due": None if due is None else due.isoformat(),
        "last_contact_at": None if contact is None else contact.isoformat(),
    }


_CONTACT_FIELDS = ("phone", "email", "address")


def client_json(client: Any) -> dict[str, Any]:
    """What ``ClientOut().dump(client)`` gives, written out: marshmallow's dump of a search page's
    50 records, their episodes and nominated persons was a tenth of the search's CPU (a test holds
    the two equal, field for field)."""
    contact = client.contact
    return {
        "id": _text(client.id),
        "reference": _text(client.reference),
        "status": _text(client.status),
        "given_name": _text(client.given_name),
        "family_name": _text(client.family_name),
        "date_of_birth": _iso(client.date_of_birth),
        "external_id": _text(client.external_id),
        "preferred_language": _text(client.preferred_language),
        "contact": None
        if contact is None
        else {key: _text(contact[key]) for key in _CONTACT_FIELDS if key in contact},
        "advance_statement": _text(client.advance_statement),
        "case_manager_id": _text(client.case_manager_id),
        "merged_into_id": _text(client.merged_into_id),
        "episodes": [
            {
                "id": _text(episode.id),
                "number": None if episode.number is None else int(episode.number),
                "status": _text(episode.status),
                "programme": _text(episode.programme),
                "opened_at": _iso(episode.opened_at),
                "closed_at": _iso(episode.closed_at),
                "discharge_reason": _text(episode.discharge_reason),
                "case_manager_id": _text(episode.case_manager_id),
                "next_review_due": _iso(episode.next_review_due),
            }
            for episode in client.episodes
        ],
        "nominated_persons": [
            {
                "name": _text(person.name),
                "relationship_to_client": _text(person.relationship_to_client),
                "phone": _text(person.phone),
                "email": _text(person.email),
                "may_be_told": None
                if person.may_be_told is None
                else [_text(category) for category in person.may_be_told],
                "id": _text(person.id),
            }
            for person in client.nominated_persons
        ],
        "registered_by": _text(client.registered_by),
        "created_at": _iso(client.created_at),
        "updated_at": _iso(client.updated_at),
    }
