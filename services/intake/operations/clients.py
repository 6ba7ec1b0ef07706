"""A client's record: reading and searching it, its changes and nominated persons (registration
is in ``registration``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    String,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.sql.elements import ColumnElement

from services.intake import domain
from services.intake.events import (
    ClientUpdated,
)
from services.intake.models import (
    AUDIT,
    Client,
    NominatedPerson,
)
from services.intake.operations.access import (
    client_event_ids,
    load_client,
    visible_clients,
)
from shared.errors import NotFound
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
