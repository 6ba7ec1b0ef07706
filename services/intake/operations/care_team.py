"""The client's care team (their other professionals: psychiatrist, GP, therapist, pharmacist…)
and the medications the client reports. The case manager coordinates and records what the
client or prescriber says; Casehub never prescribes. Every read and change is audited."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from services.intake.models import AUDIT, CareProfessional, ReportedMedication
from services.intake.operations.access import load_client, page_of_client_records
from shared.errors import Conflict, NotFound, Unprocessable
from shared.identity import Principal
from shared.pagination import Page
from shared.unit_of_work import UnitOfWork


def add_professional(
    uow: UnitOfWork, actor: Principal, client_id: str, body: Mapping[str, Any], now: datetime
) -> CareProfessional:
    client = load_client(uow, actor, client_id)
    member = CareProfessional(
        client_id=client.id,
        role=str(body["role"]),
        name=body["name"],
        organisation=body.get("organisation"),
        phone=body.get("phone"),
        email=body.get("email"),
        added_by=actor.sub,
        added_at=now,
    )
    uow.session.add(member)
    uow.session.flush()
    AUDIT.record(
        uow.session, actor, "add_professional", "care_team", member.id, client.id, role=member.role
    )
    return member


def end_professional(
    uow: UnitOfWork, actor: Principal, client_id: str, member_id: str, now: datetime
) -> CareProfessional:
    """The professional no longer works with the client; the record stays, dated."""
    client = load_client(uow, actor, client_id)
    member = uow.session.get(CareProfessional, member_id, with_for_update=True)
    if member is None or member.client_id != client.id:
        raise NotFound(f"Client {client.reference} has no care team member {member_id}.")
    if member.ended_at is not None:
        raise Conflict("This professional already left the client's care team.")
    member.ended_at = now
    AUDIT.record(uow.session, actor, "end_professional", "care_team", member.id, client.id)
    return member


def list_professionals(
    uow: UnitOfWork, actor: Principal, client_id: str, *, limit: int, cursor: str | None
) -> Page[CareProfessional]:
    return page_of_client_records(
        uow,
        actor,
        client_id,
        CareProfessional,
        [CareProfessional.added_at, CareProfessional.id],
        kind="care_team",
        limit=limit,
        cursor=cursor,
    )


def report_medication(
    uow: UnitOfWork, actor: Principal, client_id: str, body: Mapping[str, Any], now: datetime
) -> ReportedMedication:
    client = load_client(uow, actor, client_id)
    medication = ReportedMedication(
        client_id=client.id,
        name=body["name"],
        dose=body.get("dose"),
        prescriber=body.get("prescriber"),
        started_on=body.get("started_on"),
        stopped_on=body.get("stopped_on"),
        recorded_by=actor.sub,
        recorded_at=now,
    )
    uow.session.add(medication)
    uow.session.flush()
    AUDIT.record(uow.session, actor, "report_medication", "medication", medication.id, client.id)
    return medication


def update_medication(
    uow: UnitOfWork,
    actor: Principal,
    client_id: str,
    medication_id: str,
    changes: Mapping[str, Any],
) -> ReportedMedication:
    """A dose change or the day it stopped, as reported."""
    client = load_client(uow, actor, client_id)
    medication = uow.session.get(ReportedMedication, medication_id, with_for_update=True)
    if medication is None or medication.client_id != client.id:
        raise NotFound(f"Client {client.reference} has no medication {medication_id}.")
    for field in ("dose", "prescriber", "started_on", "stopped_on"):
        if field in changes:
            setattr(medication, field, changes[field])
    started, stopped = medication.started_on, medication.stopped_on
    if started and stopped and stopped < started:
        raise Unprocessable("stopped_on", "stopped before it started")
    AUDIT.record(
        uow.session,
        actor,
        "update_medication",
        "medication",
        medication.id,
        client.id,
        fields=sorted(changes),
    )
    return medication


def list_medications(
    uow: UnitOfWork, actor: Principal, client_id: str, *, limit: int, cursor: str | None
) -> Page[ReportedMedication]:
    return page_of_client_records(
        uow,
        actor,
        client_id,
        ReportedMedication,
        [ReportedMedication.recorded_at, ReportedMedication.id],
        kind="medication",
        limit=limit,
        cursor=cursor,
    )
