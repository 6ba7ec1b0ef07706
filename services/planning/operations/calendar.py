"""Each case manager's appointments as an iCalendar feed at a secret URL their own calendar app
subscribes to. The feed names the client by reference only, never by name; the secret is kept
hashed and a new one (or revoking) ends the old URL at once."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import delete, select

from services.planning import casework_domain
from services.planning.models import AUDIT, Appointment, CalendarFeed
from shared.errors import NotFound
from shared.identity import Principal
from shared.unit_of_work import UnitOfWork

#: How far back the feed reaches: calendars keep what they had, a short past is enough.
FEED_PAST = timedelta(days=30)
SHOWN = (casework_domain.AppointmentStatus.SCHEDULED, casework_domain.AppointmentStatus.ATTENDED)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_feed(uow: UnitOfWork, actor: Principal) -> str:
    """A new secret for the caller's feed; any earlier URL stops working."""
    secret = secrets.token_urlsafe(32)
    uow.session.execute(delete(CalendarFeed).where(CalendarFeed.case_manager_id == actor.sub))
    uow.session.add(CalendarFeed(case_manager_id=actor.sub, secret_hash=_digest(secret)))
    AUDIT.record(uow.session, actor, "issue_calendar_feed", "calendar_feed", None, None)
    return secret


def revoke_feed(uow: UnitOfWork, actor: Principal) -> None:
    gone = uow.session.execute(
        delete(CalendarFeed).where(CalendarFeed.case_manager_id == actor.sub)
    ).rowcount
    if not gone:
        raise NotFound("You have no calendar feed.")
    AUDIT.record(uow.session, actor, "revoke_calendar_feed", "calendar_feed", None, None)


def feed(uow: UnitOfWork, secret: str, now: datetime) -> bytes:
    """The feed behind a secret (404 for any other, revoked or never issued)."""
    holder = uow.session.scalars(
        select(CalendarFeed.case_manager_id).where(CalendarFeed.secret_hash == _digest(secret))
    ).first()
    if holder is None:
        raise NotFound("No such calendar.")
    appointments = uow.session.scalars(
        select(Appointment)
        .where(
            Appointment.case_manager_id == holder,
            Appointment.status.in_(SHOWN),
            Appointment.starts_at >= now - FEED_PAST,
        )
        .order_by(Appointment.starts_at, Appointment.id)
    )
    calendar = Calendar()
    calendar.add("prodid", "-//Casehub//appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "Casehub appointments")
    for appointment in appointments:
        event = Event()
        event.add("uid", f"{appointment.id}@casehub")
        event.add("dtstamp", now)
        event.add("dtstart", appointment.starts_at)
        event.add("dtend", appointment.starts_at + timedelta(minutes=appointment.duration_minutes))
        event.add("summary", f"Casehub: client {appointment.client_reference}")
        if appointment.location:
            event.add("location", appointment.location)
        if appointment.video_link:
            event.add("url", appointment.video_link)
        event.add("status", "CONFIRMED")
        calendar.add_component(event)
    return calendar.to_ical()
