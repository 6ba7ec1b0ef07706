"""Registering clients, their record and nominated persons, discharge and re-admission."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    String,
    Table,
    bindparam,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.sql.elements import ColumnElement

from services.intake import domain
from services.intake.events import (
    ClientRegistered,
    ClientUpdated,
)
from services.intake.models import (
    AUDIT,
    CLIENT_REFERENCES,
    Client,
    ClientReferenceCounter,
    DuplicateReview,
    Episode,
    NominatedPerson,
)
from services.intake.operations.access import (
    client_event_ids,
    load_client,
    visible_clients,
)
from shared.db import new_id, utc_now
from shared.errors import Conflict, NotFound
from shared.identity import Principal
from shared.pagination import Page, keyset_page
from shared.unit_of_work import UnitOfWork

UPDATABLE_FIELDS = (
    "given_name",
    "family_name",
    "date_of_birth",
    "external_id",
    "preferred_language",
    "contact",
    "advance_statement",
)


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
        _flag_possible_duplicate(uow, actor, client["id"], existing_id)
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


def _flag_possible_duplicate(
    uow: UnitOfWork, actor: Principal, client_id: str, existing_id: str
) -> None:
    review = DuplicateReview(
        new_client_id=client_id, existing_client_id=existing_id, flagged_by=actor.sub
    )
    uow.session.add(review)
    uow.session.flush()
    for about in (client_id, existing_id):
        AUDIT.record(uow.session, actor, "flag", "duplicate_review", review.id, about)


def read_client(uow: UnitOfWork, actor: Principal, client_id: str) -> Client:
    client = load_client(uow, actor, client_id)
    AUDIT.record(uow.session, actor, "read", "client", client.id, client.id)
    return client


#: What a search by name matches: the given name, family name and person key joined by ``|``,
#: the one expression the trigram index ``ix_clients_name_search_trgm`` covers (migration
#: intake_0020_name_search_text; the planner matches an index by expression, so keep them alike).
_SEPARATOR = literal_column("'|'", String)
NAME_SEARCH_TEXT = (
    func.lower(Client.given_name, type_=String)
    + _SEPARATOR
    + func.lower(Client.family_name, type_=String)
    + _SEPARATOR
    + Client.person_key
)
#: A fragment with these can match across the joins (``_`` and ``%`` are LIKE wildcards); the
#: search then also requires a match within one of the three, as it always did.
_CROSSES_JOINS = frozenset("|%_")
#: Plan the search for the fragment searched. psycopg prepares a statement run five times on a
#: connection, and PostgreSQL then settles on a generic plan, guessed for any fragment: it walks
#: the reference index, which reads most of the table for a rare name (90-190 ms at 500,000).
_CUSTOM_PLAN = text("SET LOCAL plan_cache_mode = force_custom_plan")


def name_matches(name: str) -> ColumnElement[bool]:
    """Clients whose given name, family name or person key contains ``name`` (any case)."""
    pattern = f"%{name.strip().casefold()}%"
    matches = NAME_SEARCH_TEXT.like(pattern)
    if _CROSSES_JOINS.isdisjoint(pattern.strip("%")):
        return matches
    return matches & or_(
        func.lower(Client.given_name).like(pattern),
        func.lower(Client.family_name).like(pattern),
        Client.person_key.like(pattern),
    )


def search_clients(
    uow: UnitOfWork,
    actor: Principal,
    *,
    name: str | None,
    date_of_birth: date | None,
    external_id: str | None,
    limit: int,
    cursor: str | None,
    reference: str | None = None,
) -> Page[Client]:
    """A page of the clients the caller may see, in reference order; each client shown is
    audited as read (via search)."""
    statement = select(Client).where(visible_clients(actor))
    if reference:
        statement = statement.where(Client.reference == reference)
    if name:
        statement = statement.where(name_matches(name))
        if uow.session.get_bind().dialect.name == "postgresql":
            uow.session.execute(_CUSTOM_PLAN)
    if date_of_birth:
        statement = statement.where(Client.date_of_birth == date_of_birth)
    if external_id:
        statement = statement.where(Client.external_id == external_id)
    page = keyset_page(uow.session, statement, [Client.reference], limit=limit, cursor=cursor)
    for client in page.items:
        AUDIT.record(uow.session, actor, "read", "client", client.id, client.id, via="search")
    return page


def update_client(
    uow: UnitOfWork, actor: Principal, client_id: str, changes: Mapping[str, Any], now: datetime
) -> Client:
    client = load_client(uow, actor, client_id, for_update=True)
    changed = sorted(
        field
        for field in UPDATABLE_FIELDS
        if field in changes and getattr(client, field) != changes[field]
    )
    for field in changed:
        setattr(client, field, changes[field])
    if not changed:
        return client
    if {"given_name", "family_name", "date_of_birth"} & set(changed):
        client.person_key = domain.person_key(
            client.given_name, client.family_name, client.date_of_birth
        )
    client.updated_at = now
    AUDIT.record(uow.session, actor, "update", "client", client.id, client.id, fields=changed)
    publish_updated(uow, client, changed, now)
    return client


def publish_updated(uow: UnitOfWork, client: Client, changed: Sequence[str], now: datetime) -> None:
    uow.publish(
        ClientUpdated(**client_event_ids(client), changed_fields=list(changed), updated_at=now)
    )


def add_nominated_person(
    uow: UnitOfWork, actor: Principal, client_id: str, person: Mapping[str, Any], now: datetime
) -> NominatedPerson:
    client = load_client(uow, actor, client_id, for_update=True)
    nominated = NominatedPerson(**person)
    client.nominated_persons.append(nominated)
    uow.session.flush()
    AUDIT.record(uow.session, actor, "add", "nominated_person", nominated.id, client.id)
    publish_updated(uow, client, ["nominated_persons"], now)
    return nominated


def remove_nominated_person(
    uow: UnitOfWork, actor: Principal, client_id: str, person_id: str, now: datetime
) -> None:
    client = load_client(uow, actor, client_id, for_update=True)
    person = next((p for p in client.nominated_persons if p.id == person_id), None)
    if person is None:
        raise NotFound(f"Client {client.reference} has no nominated person {person_id}.")
    client.nominated_persons.remove(person)
    AUDIT.record(uow.session, actor, "remove", "nominated_person", person_id, client.id)
    publish_updated(uow, client, ["nominated_persons"], now)
