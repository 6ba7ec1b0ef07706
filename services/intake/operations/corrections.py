"""The client's right to correction: a request is recorded, then decided. Accepted amends the
record (audited, announced as any change); refused keeps the record and attaches the client's
own statement to it. Nothing is overwritten silently."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from services.intake import domain
from services.intake.models import AUDIT, Correction
from services.intake.operations.access import load_client
from services.intake.operations.clients import update_client
from shared.clock import EARLIEST_DAY, agency_today
from shared.errors import Conflict, NotFound, Unprocessable
from shared.identity import Principal
from shared.pagination import Page, keyset_page
from shared.unit_of_work import UnitOfWork

#: The fields of the client's record a correction may amend.
CORRECTABLE = (
    "given_name",
    "family_name",
    "date_of_birth",
    "preferred_language",
    "external_id",
    "advance_statement",
)


def request_correction(
    uow: UnitOfWork, actor: Principal, client_id: str, body: dict[str, Any]
) -> Correction:
    client = load_client(uow, actor, client_id)
    _value(body["field"], body["requested_value"])  # a date of birth must be one, now as later
    correction = Correction(
        client_id=client.id,
        field=body["field"],
        requested_value=body["requested_value"],
        reason=body.get("reason"),
        requested_by=actor.sub,
    )
    uow.session.add(correction)
    uow.session.flush()
    AUDIT.record(
        uow.session,
        actor,
        "correction.request",
        "correction",
        correction.id,
        client.id,
        field=correction.field,
    )
    return correction


def list_corrections(
    uow: UnitOfWork, actor: Principal, client_id: str, *, limit: int, cursor: str | None
) -> Page[Correction]:
    client = load_client(uow, actor, client_id)
    AUDIT.record(uow.session, actor, "correction.list", "client", client.id, client.id)
    return keyset_page(
        uow.session,
        select(Correction).where(Correction.client_id == client.id),
        [Correction.requested_at, Correction.id],
        limit=limit,
        cursor=cursor,
    )


def _value(field: str, text: str) -> Any:
    if field != "date_of_birth":
        return text
    try:
        born = date.fromisoformat(text)
    except ValueError:
        raise Unprocessable("requested_value", "A date of birth is YYYY-MM-DD.") from None
    problem = domain.birth_date_problem(born, agency_today(), EARLIEST_DAY)
    if problem:
        raise Unprocessable("requested_value", f"A date of birth {problem}.")
    return born


def decide_correction(
    uow: UnitOfWork,
    actor: Principal,
    client_id: str,
    correction_id: str,
    body: dict[str, Any],
    now: datetime,
) -> Correction:
    client = load_client(uow, actor, client_id)
    correction = uow.session.get(Correction, correction_id, with_for_update=True)
    if correction is None or correction.client_id != client.id:
        raise NotFound(f"No correction {correction_id} of client {client_id}.")
    if correction.status != "requested":
        raise Conflict("The correction was already decided.", current_status=correction.status)
    outcome = body["outcome"]
    if outcome == "refused" and not body.get("client_statement"):
        raise Unprocessable(
            "client_statement", "A refused correction attaches the client's own statement."
        )
    if outcome == "accepted":
        field = correction.field
        update_client(
            uow, actor, client.id, {field: _value(field, correction.requested_value)}, now
        )
    correction.status, correction.decided_by, correction.decided_at = outcome, actor.sub, now
    correction.decision_note = body.get("note")
    correction.client_statement = body.get("client_statement")
    AUDIT.record(
        uow.session,
        actor,
        "correction.decide",
        "correction",
        correction.id,
        client.id,
        field=correction.field,
        outcome=outcome,
    )
    return correction
