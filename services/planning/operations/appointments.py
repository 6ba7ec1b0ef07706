"""Appointments with a client: booked, then attended (which records the contact in the same
step), cancelled, missed (a follow-up task) or rescheduled (a new appointment replaces it)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from services.planning import casework_domain
from services.planning.events import AppointmentScheduled, AppointmentStatusChanged
from services.planning.models import AUDIT, Appointment, Contact, EpisodeCare
from services.planning.operations.casework_access import (
    carried_episode,
    check_episode,
    readable_episodes,
)
from services.planning.operations.contacts import record_contact
from services.planning.operations.tasks import Priority, Source, raise_task
from shared.clock import agency_date
from shared.errors import NotFound, Unprocessable
from shared.identity import Principal
from shared.pagination import Page, keyset_page
from shared.unit_of_work import UnitOfWork

Status = casework_domain.AppointmentStatus


def _book(
    uow: UnitOfWork, actor: Principal, care: EpisodeCare, body: Mapping[str, Any]
) -> Appointment:
    appointment = Appointment(
        client_id=care.client_id,
        client_reference=care.client_reference,
        episode_id=care.episode_id,
        case_manager_id=care.case_manager_id or actor.sub,
        starts_at=body["starts_at"],
        duration_minutes=int(body.get("duration_minutes") or 60),
        location=body.get("location"),
        video_link=body.get("video_link"),
        with_whom=list(body.get("with_whom") or []),
        status=str(Status.SCHEDULED),
        created_by=actor.sub,
    )
    uow.session.add(appointment)
    uow.session.flush()
    uow.publish(
        AppointmentScheduled(
            **_ids(appointment),
            starts_at=appointment.starts_at,
            duration_minutes=appointment.duration_minutes,
            video=bool(appointment.video_link),
        )
    )
    return appointment


def _ids(appointment: Appointment) -> dict[str, str]:
    return {
        "client_id": appointment.client_id,
        "client_reference": appointment.client_reference,
        "episode_id": appointment.episode_id,
        "case_manager_id": appointment.case_manager_id,
        "appointment_id": appointment.id,
    }


def schedule(
    uow: UnitOfWork, actor: Principal, client_id: str, body: Mapping[str, Any]
) -> Appointment:
    care = carried_episode(uow, actor, client_id)
    appointment = _book(uow, actor, care, body)
    AUDIT.record(
        uow.session, actor, "schedule", "appointment", appointment.id, appointment.client_id
    )
    return appointment


def _load(uow: UnitOfWork, actor: Principal, appointment_id: str, *, write: bool) -> Appointment:
    appointment = uow.session.get(Appointment, appointment_id, with_for_update=write)
    if appointment is None:
        raise NotFound(f"No appointment {appointment_id} that you may see.")
    try:
        check_episode(uow, actor, appointment.episode_id, write=write)
    except NotFound:
        raise NotFound(f"No appointment {appointment_id} that you may see.") from None
    return appointment


def _moved(
    uow: UnitOfWork, actor: Principal, appointment: Appointment, status: Status, now: datetime
) -> None:
    appointment.status = casework_domain.move_appointment(appointment.status, status)
    AUDIT.record(
        uow.session,
        actor,
        str(status),
        "appointment",
        appointment.id,
        appointment.client_id,
    )
    uow.publish(
        AppointmentStatusChanged(
            **_ids(appointment),
            status=str(status),
            starts_at=appointment.starts_at,
            rescheduled_to_id=appointment.rescheduled_to_id,
            at=now,
        )
    )


def attend(
    uow: UnitOfWork,
    actor: Principal,
    appointment_id: str,
    contact: Mapping[str, Any],
    now: datetime,
) -> tuple[Appointment, Contact]:
    """The appointment happened: its contact is recorded in the same step, at its time unless
    the note says otherwise."""
    appointment = _load(uow, actor, appointment_id, write=True)
    casework_domain.move_appointment(appointment.status, Status.ATTENDED)
    care = uow.session.get(EpisodeCare, appointment.episode_id)
    assert care is not None  # check_episode found it
    body = {
        "occurred_at": appointment.starts_at,
        "duration_minutes": appointment.duration_minutes,
        "location": appointment.location,
        "contact_type": "video" if appointment.video_link else "face_to_face",
        **{key: value for key, value in contact.items() if value is not None},
    }
    recorded = record_contact(
        uow, actor, appointment.client_id, body, now, appointment_id=appointment.id, care=care
    )
    appointment.contact_id = recorded.id
    _moved(uow, actor, appointment, Status.ATTENDED, now)
    return appointment, recorded


def record_outcome(
    uow: UnitOfWork,
    actor: Principal,
    appointment_id: str,
    status: str,
    reason: str | None,
    now: datetime,
) -> Appointment:
    """Cancelled or no-show; a no-show makes a follow-up task for the case manager."""
    appointment = _load(uow, actor, appointment_id, write=True)
    appointment.status_reason = reason
    _moved(uow, actor, appointment, Status(status), now)
    if appointment.status == Status.NO_SHOW:
        raise_task(
            uow,
            source=Source.NO_SHOW,
            key=f"appointment:{appointment.id}:no_show",
            owner_id=appointment.case_manager_id,
            title=f"Did not attend on {agency_date(appointment.starts_at)}: follow up",
            due_on=agency_date(now) + timedelta(days=1),
            priority=Priority.HIGH,
            client=appointment,
        )
    return appointment


def reschedule(
    uow: UnitOfWork, actor: Principal, appointment_id: str, body: Mapping[str, Any], now: datetime
) -> Appointment:
    """A new appointment takes the old one's place (the old one says where it went)."""
    appointment = _load(uow, actor, appointment_id, write=True)
    casework_domain.move_appointment(appointment.status, Status.RESCHEDULED)
    care = uow.session.get(EpisodeCare, appointment.episode_id)
    assert care is not None
    kept = {
        "duration_minutes": appointment.duration_minutes,
        "location": appointment.location,
        "video_link": appointment.video_link,
        "with_whom": appointment.with_whom,
    }
    moved = {**kept, **{k: v for k, v in body.items() if k != "reason"}}
    if not casework_domain.has_somewhere(moved.get("location"), moved.get("video_link")):
        raise Unprocessable("location", casework_domain.NOWHERE)
    replacement = _book(uow, actor, care, moved)
    appointment.rescheduled_to_id, appointment.status_reason = replacement.id, body.get("reason")
    _moved(uow, actor, appointment, Status.RESCHEDULED, now)
    return replacement


def read_appointment(uow: UnitOfWork, actor: Principal, appointment_id: str) -> Appointment:
    appointment = _load(uow, actor, appointment_id, write=False)
    AUDIT.record(uow.session, actor, "read", "appointment", appointment.id, appointment.client_id)
    return appointment


def list_appointments(
    uow: UnitOfWork, actor: Principal, client_id: str, *, limit: int, cursor: str | None
) -> Page[Appointment]:
    episodes = readable_episodes(uow, actor, client_id)
    AUDIT.record(uow.session, actor, "read", "appointments", None, client_id)
    return appointments_page(uow, client_id, episodes, limit=limit, cursor=cursor)


def appointments_page(
    uow: UnitOfWork, client_id: str, episodes: list[str], *, limit: int, cursor: str | None
) -> Page[Appointment]:
    """A page of the client's appointments in these episodes, earliest first (no access check)."""
    return keyset_page(
        uow.session,
        select(Appointment).where(
            Appointment.client_id == client_id, Appointment.episode_id.in_(episodes)
        ),
        [Appointment.starts_at, Appointment.id],
        limit=limit,
        cursor=cursor,
    )


def my_appointments(
    uow: UnitOfWork,
    actor: Principal,
    start: datetime,
    end: datetime,
    *,
    limit: int,
    cursor: str | None,
) -> Page[Appointment]:
    AUDIT.record(uow.session, actor, "read", "my_appointments", None, None)
    return keyset_page(
        uow.session,
        select(Appointment).where(
            Appointment.case_manager_id == actor.sub,
            Appointment.starts_at >= start,
            Appointment.starts_at < end,
        ),
        [Appointment.starts_at, Appointment.id],
        limit=limit,
        cursor=cursor,
    )
