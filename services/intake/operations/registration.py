"""Registering a client: the reference, the duplicate rules (a visible match refuses, an unseen one
is queued for review) and the record written in as few round trips as the rules allow."""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Boolean, String, Table, bindparam, exists, func, insert, or_, select
from sqlalchemy.sql.elements import ColumnElement

from services.intake import domain
from services.intake.events import ClientRegistered
from services.intake.models import (
    AUDIT,
    CLIENT_REFERENCES,
    Client,
    ClientReferenceCounter,
    Episode,
    NominatedPerson,
)
from services.intake.operations.access import visible_clients
from services.intake.operations.duplicates import flag_possible_duplicate
from shared.db import new_id, utc_now
from shared.errors import Conflict
from shared.identity import Principal
from shared.unit_of_work import UnitOfWork

#: Built once (with the person key bound at execution), as every registration runs it.
_NEXT_REFERENCE = select(
    CLIENT_REFERENCES.next_value(),
    func.pg_advisory_xact_lock(func.hashtextextended(bindparam("person_key", type_=String()), 0)),
)


def _claim_reference(uow: UnitOfWork, person_key: str) -> str:
    """Claim the next client reference and hold the person's registration lock to commit.

    PostgreSQL, one round trip: the next value of a sequence (never locked to commit, so
    registrations of different people run side by side; unique but not gap-free) and a
    transaction advisory lock on the person key, so two registrations of the same person queue and
    the duplicate check that follows (a new statement, hence a new snapshot at READ COMMITTED)
    sees the other's committed record. SQLite: the one counter row (writers are serial there)."""
    if uow.session.get_bind().dialect.name == "postgresql":
        number = uow.session.execute(_NEXT_REFERENCE, {"person_key": person_key}).scalar_one()
        return f"C-{number}"
    counter = uow.session.scalars(
        select(ClientReferenceCounter)
        .where(ClientReferenceCounter.id == 1)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    counter.last_value += 1
    return f"C-{counter.last_value}"


def _matches(
    uow: UnitOfWork, person_key: str, visible: ColumnElement[bool]
) -> list[tuple[str, bool]]:
    """Every live record of this person (oldest first) and whether the caller may see it: one
    query on the person-key index."""
    rows = uow.session.execute(
        select(Client.id, visible.label("seen"))
        .where(Client.person_key == person_key, Client.merged_into_id.is_(None))
        .order_by(Client.reference)
    ).all()
    return [(client_id, bool(seen)) for client_id, seen in rows]


_CLIENTS = cast(Table, Client.__table__)
_EPISODES = cast(Table, Episode.__table__)
#: Registration writes its rows with Core statements built once, values bound at execution: the
#: ORM's unit-of-work flush of a client, its episode and nominated persons (and building their
#: statements) was a third of a registration's CPU. The columns written (the others stay NULL).
_CLIENT_COLUMNS = (
    "id",
    "reference",
    "person_key",
    "registered_by",
    "given_name",
    "family_name",
    "date_of_birth",
    "external_id",
    "preferred_language",
    "contact",
    "advance_statement",
    "status",
    "case_manager_id",
    "merged_into_id",
    "care_version",
    "legal_hold",
    "created_at",
    "updated_at",
)
_EPISODE_COLUMNS = (
    "id",
    "client_id",
    "number",
    "status",
    "programme",
    "opened_at",
    "closed_at",
    "discharge_reason",
    "case_manager_id",
    "next_review_due",
)
_INSERT_CLIENT = insert(_CLIENTS)
_INSERT_EPISODE = insert(_EPISODES)
_INSERT_NOMINATED_PERSONS = insert(cast(Table, NominatedPerson.__table__))
#: PostgreSQL's one statement for the match and the insert, per set of roles that decide sight.
_MATCH_AND_INSERT: dict[frozenset[str], Any] = {}
_SIGHT_ROLES = frozenset(("admin", "supervisor", "case_manager", "intake_worker"))


def _match_and_insert(roles: frozenset[str]) -> Any:
    """PostgreSQL, one round trip: the person's live records (oldest first) and whether the
    caller may see each; and, unless one is seen and the caller did not confirm another person,
    the client and its first episode inserted. Every part runs on one snapshot taken after the
    person's advisory lock was granted (by the statement before), so it sees another desk's
    committed registration of the same person, and never its own rows."""
    sight = roles & _SIGHT_ROLES
    statement = _MATCH_AND_INSERT.get(sight)
    if statement is not None:
        return statement
    caller = bindparam("caller", type_=String())
    visible = visible_clients(Principal(sub="", roles=sight), sub=caller)
    matches = (
        select(Client.id, Client.reference, visible.label("seen"))
        .where(
            Client.person_key == bindparam("client_person_key", type_=String()),
            Client.merged_into_id.is_(None),
        )
        .cte("matches")
    )
    may_register = or_(
        bindparam("confirmed", type_=Boolean()),
        ~exists(select(matches.c.id).where(matches.c.seen)),
    )
    new_client = (
        insert(_CLIENTS)
        .from_select(
            _CLIENT_COLUMNS,
            select(
                *(
                    bindparam(f"client_{name}", type_=_CLIENTS.c[name].type)
                    for name in _CLIENT_COLUMNS
                )
            ).where(may_register),
        )
        .returning(_CLIENTS.c.id)
        .cte("new_client")
    )
    episode_values = [
        new_client.c.id
        if name == "client_id"
        else bindparam(f"episode_{name}", type_=_EPISODES.c[name].type)
        for name in _EPISODE_COLUMNS
    ]
    new_episode = (
        insert(_EPISODES)
        .from_select(_EPISODE_COLUMNS, select(*episode_values).select_from(new_client))
        .returning(_EPISODES.c.id)
        .cte("new_episode")
    )
    statement = (
        select(matches.c.id, matches.c.seen)
        .add_cte(new_client, new_episode)
        .order_by(matches.c.reference)
    )
    _MATCH_AND_INSERT[sight] = statement
    return statement


def register_client(
    uow: UnitOfWork,
    actor: Principal,
    details: Mapping[str, Any],
    *,
    confirmed_not_duplicate: bool = False,
) -> SimpleNamespace:
    """Register a client. A match the caller may see is a 409 naming it (unless they confirm it is
    another person); a match they may not see is never revealed: the client is registered and the
    pair goes on the duplicate-review list for supervisors and admins.

    Returns the record as registered, with a ``Client``'s attributes, episodes and nominated
    persons (nothing is read back)."""
    key = domain.person_key(details["given_name"], details["family_name"], details["date_of_birth"])
    reference = _claim_reference(uow, key)
    now = utc_now()
    client = {
        "id": new_id(),
        "reference": reference,
        "person_key": key,
        "registered_by": actor.sub,
        "given_name": details["given_name"],
        "family_name": details["family_name"],
        "date_of_birth": details["date_of_birth"],
        "external_id": details.get("external_id"),
        "preferred_language": details.get("preferred_language"),
        "contact": dict(details.get("contact") or {}),
        "advance_statement": details.get("advance_statement"),
        "status": "open",
        "case_manager_id": None,
        "merged_into_id": None,
        "care_version": 0,
        "legal_hold": False,
        "created_at": now,
        "updated_at": now,
    }
    episode = {
        "id": new_id(),
        "client_id": client["id"],
        "number": 1,
        "status": "open",
        "programme": details.get("programme"),
        "opened_at": now,
        "closed_at": None,
        "discharge_reason": None,
        "case_manager_id": None,
        "next_review_due": None,
    }
    # Core statements on the transaction's connection: the session's ORM execution adds nothing.
    connection = uow.session.connection()
    postgresql = connection.dialect.name == "postgresql"
    if postgresql:
        every_match = [
            (match, bool(seen))
            for match, seen in connection.execute(
                _match_and_insert(actor.roles),
                {f"client_{name}": value for name, value in client.items()}
                | {f"episode_{name}": value for name, value in episode.items()}
                | {"caller": actor.sub, "confirmed": confirmed_not_duplicate},
            )
        ]
    else:
        every_match = _matches(uow, key, visible_clients(actor))
    existing = [match for match, seen in every_match if seen]
    unseen = [match for match, seen in every_match if not seen]
    if existing and not confirmed_not_duplicate:
        raise Conflict(  # on PostgreSQL nothing was inserted: the statement checked the same
            "A client with the same name and date of birth exists; confirm it is another person "
            "with confirmed_not_duplicate=true, or use the existing record.",
            existing_client_ids=existing,
        )
    if not postgresql:
        connection.execute(_INSERT_CLIENT, client)
        connection.execute(_INSERT_EPISODE, episode)
    nominated = [
        {
            "id": new_id(),
            "client_id": client["id"],
            "name": person["name"],
            "relationship_to_client": person["relationship_to_client"],
            "phone": person.get("phone"),
            "email": person.get("email"),
            "may_be_told": list(person.get("may_be_told") or []),
        }
        for person in details.get("nominated_persons", [])
    ]
    if nominated:
        connection.execute(_INSERT_NOMINATED_PERSONS, nominated)
    AUDIT.record(
        uow.session,
        actor,
        "register",
        "client",
        client["id"],
        client["id"],
        duplicate_confirmed=bool(existing and confirmed_not_duplicate),
    )
    for existing_id in unseen:
        flag_possible_duplicate(uow, actor, client["id"], existing_id)
    uow.publish(
        ClientRegistered(
            client_id=client["id"],
            client_reference=reference,
            episode_id=episode["id"],
            programme=episode["programme"],
            registered_by=actor.sub,
            registered_at=now,
        )
    )
    return SimpleNamespace(
        **client,
        episodes=[SimpleNamespace(**episode)],
        nominated_persons=[SimpleNamespace(**person) for person in nominated],
    )
