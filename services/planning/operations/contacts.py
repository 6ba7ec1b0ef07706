"""Contacts with a client and their DAP notes: recorded from assignment on (before any plan),
signed once and then locked, corrected only by addenda. Reads and writes are audited."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from services.planning import casework_domain
from services.planning.events import ContactRecorded
from services.planning.models import AUDIT, Contact, ContactAddendum, EpisodeCare, Plan, PlanVersion
from services.planning.operations.casework_access import (
    carried_episode,
    check_episode,
    readable_episodes,
)
from shared.errors import Conflict, NotFound, Unprocessable
from shared.identity import Principal
from shared.pagination import Page, keyset_page
from shared.unit_of_work import UnitOfWork

#: Clocks differ a little; a contact "in the future" beyond this is a typing mistake.
CLOCK_SKEW = timedelta(minutes=5)
DAP_SECTIONS = ("data", "assessment", "plan")


def _plan_goal_ids(uow: UnitOfWork, episode_id: str) -> set[str]:
    """Goals of the episode's plan, in any version: a contact may work on a goal being drafted."""
    plan = uow.session.scalars(select(Plan).where(Plan.episode_id == episode_id)).first()
    if plan is None:
        return set()
    versions = uow.session.scalars(
        select(PlanVersion.content).where(PlanVersion.plan_id == plan.id)
    )
    return {goal["id"] for content in versions for goal in content.get("goals") or []}


def _check_goals(uow: UnitOfWork, episode_id: str, goal_ids: list[str]) -> None:
    unknown = sorted(set(goal_ids) - _plan_goal_ids(uow, episode_id))
    if unknown:
        raise Unprocessable("goal_ids", f"not goals of the client's plan: {', '.join(unknown)}")


def _check_signable(note: Mapping[str, Any]) -> None:
    missing = [s for s in DAP_SECTIONS if not str(note.get(s) or "").strip()]
    if missing:
        raise Unprocessable("note", f"a signed note needs every DAP section: {', '.join(missing)}")


def record_contact(
    uow: UnitOfWork,
    actor: Principal,
    client_id: str,
    body: Mapping[str, Any],
    now: datetime,
    *,
    appointment_id: str | None = None,
    care: EpisodeCare | None = None,
) -> Contact:
    care = care or carried_episode(uow, actor, client_id)
    occurred_at: datetime = body["occurred_at"]
    if occurred_at > now + CLOCK_SKEW:
        raise Unprocessable("occurred_at", "a contact is recorded after it happened")
    goal_ids = list(dict.fromkeys(body.get("goal_ids") or []))
    _check_goals(uow, care.episode_id, goal_ids)
    note = {s: (body.get("note") or {}).get(s) or "" for s in DAP_SECTIONS}
    if body.get("sign"):
        _check_signable(note)
    contact = Contact(
        client_id=care.client_id,
        client_reference=care.client_reference,
        episode_id=care.episode_id,
        case_manager_id=care.case_manager_id or actor.sub,
        contact_type=str(body["contact_type"]),
        occurred_at=occurred_at,
        duration_minutes=int(body["duration_minutes"]),
        location=body.get("location"),
        participants=[dict(p) for p in body.get("participants") or []],
        purpose=body["purpose"],
        note=note,
        goal_ids=goal_ids,
        appointment_id=appointment_id,
        recorded_at=now,
        recorded_by=actor.sub,
        late=casework_domain.is_late_recording(occurred_at, now),
        signed_at=now if body.get("sign") else None,
        signed_by=actor.sub if body.get("sign") else None,
    )
    uow.session.add(contact)
    uow.session.flush()
    AUDIT.record(
        uow.session,
        actor,
        "record_contact",
        "contact",
        contact.id,
        contact.client_id,
        signed=bool(body.get("sign")),
        late=contact.late,
    )
    uow.publish(
        ContactRecorded(
            client_id=contact.client_id,
            client_reference=contact.client_reference,
            episode_id=contact.episode_id,
            case_manager_id=contact.case_manager_id,
            contact_id=contact.id,
            contact_type=contact.contact_type,
            occurred_at=contact.occurred_at,
            duration_minutes=contact.duration_minutes,
            late=contact.late,
            goal_ids=contact.goal_ids,
            appointment_id=appointment_id,
        )
    )
    return contact


def _load(uow: UnitOfWork, actor: Principal, contact_id: str, *, write: bool) -> Contact:
    contact = uow.session.get(Contact, contact_id, with_for_update=write)
    if contact is None:
        raise NotFound(f"No contact {contact_id} that you may see.")
    try:
        check_episode(uow, actor, contact.episode_id, write=write)
    except NotFound:
        raise NotFound(f"No contact {contact_id} that you may see.") from None
    return contact


def _locked(contact: Contact) -> Conflict:
    return Conflict(
        "A signed contact note is locked; add an addendum to correct or add to it.",
        reason="signed",
        signed_at=contact.signed_at.isoformat() if contact.signed_at else None,
    )


def update_contact(
    uow: UnitOfWork, actor: Principal, contact_id: str, changes: Mapping[str, Any], now: datetime
) -> Contact:
    """Only an unsigned note changes; the contact's time stays what it was (lateness is fixed
    when it is recorded)."""
    contact = _load(uow, actor, contact_id, write=True)
    if contact.signed_at is not None:
        raise _locked(contact)
    if "goal_ids" in changes:
        goal_ids = list(dict.fromkeys(changes["goal_ids"] or []))
        _check_goals(uow, contact.episode_id, goal_ids)
        contact.goal_ids = goal_ids
    if "note" in changes:
        contact.note = {
            s: (changes["note"] or {}).get(s, contact.note.get(s)) or "" for s in DAP_SECTIONS
        }
    for field in ("location", "purpose", "duration_minutes"):
        if field in changes:
            setattr(contact, field, changes[field])
    if "contact_type" in changes:
        contact.contact_type = str(changes["contact_type"])
    if "participants" in changes:
        contact.participants = [dict(p) for p in changes["participants"] or []]
    AUDIT.record(
        uow.session,
        actor,
        "update_contact",
        "contact",
        contact.id,
        contact.client_id,
        fields=sorted(changes),
    )
    return contact


def sign_contact(uow: UnitOfWork, actor: Principal, contact_id: str, now: datetime) -> Contact:
    contact = _load(uow, actor, contact_id, write=True)
    if contact.signed_at is not None:
        raise _locked(contact)
    _check_signable(contact.note)
    contact.signed_at, contact.signed_by = now, actor.sub
    AUDIT.record(uow.session, actor, "sign_contact", "contact", contact.id, contact.client_id)
    return contact


def add_addendum(
    uow: UnitOfWork, actor: Principal, contact_id: str, text: str, now: datetime
) -> ContactAddendum:
    contact = _load(uow, actor, contact_id, write=True)
    if contact.signed_at is None:
        raise Conflict(
            "The note is not signed yet: change it directly, addenda follow a signed note.",
            reason="not_signed",
        )
    addendum = ContactAddendum(
        contact_id=contact.id, text=text, written_by=actor.sub, written_at=now
    )
    uow.session.add(addendum)
    uow.session.flush()
    AUDIT.record(
        uow.session,
        actor,
        "add_addendum",
        "contact",
        contact.id,
        contact.client_id,
        addendum_id=addendum.id,
    )
    return addendum


def addenda(uow: UnitOfWork, contact: Contact) -> list[ContactAddendum]:
    return addenda_of(uow, [contact])[contact.id]


def addenda_of(uow: UnitOfWork, contacts: Sequence[Contact]) -> dict[str, list[ContactAddendum]]:
    """Each contact's addenda, oldest first, in one query for a whole page of contacts (a query
    per contact made a long-served client's list of contacts a query per row)."""
    found: dict[str, list[ContactAddendum]] = {contact.id: [] for contact in contacts}
    if not found:
        return found
    for addendum in uow.session.scalars(
        select(ContactAddendum)
        .where(ContactAddendum.contact_id.in_(list(found)))
        .order_by(ContactAddendum.written_at, ContactAddendum.id)
    ):
        found[addendum.contact_id].append(addendum)
    return found


def read_contact(uow: UnitOfWork, actor: Principal, contact_id: str) -> Contact:
    contact = _load(uow, actor, contact_id, write=False)
    AUDIT.record(uow.session, actor, "read", "contact", contact.id, contact.client_id)
    return contact


def list_contacts(
    uow: UnitOfWork, actor: Principal, client_id: str, *, limit: int, cursor: str | None
) -> Page[Contact]:
    """The client's contacts, newest first, across the episodes the caller may read."""
    episodes = readable_episodes(uow, actor, client_id)
    AUDIT.record(uow.session, actor, "read", "contacts", None, client_id)
    return contacts_page(uow, client_id, episodes, limit=limit, cursor=cursor)


def contacts_page(
    uow: UnitOfWork, client_id: str, episodes: list[str], *, limit: int, cursor: str | None
) -> Page[Contact]:
    """A page of the client's contacts in these episodes, newest first (no access check)."""
    return keyset_page(
        uow.session,
        select(Contact).where(Contact.client_id == client_id, Contact.episode_id.in_(episodes)),
        [Contact.occurred_at, Contact.id],
        limit=limit,
        cursor=cursor,
        descending=True,
    )
