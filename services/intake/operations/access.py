"""Who may see which client, loading a client for that, and who carries it (assignment)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true, update

from services.intake import domain
from services.intake.models import (
    AUDIT,
    Assignment,
    CaseManager,
    Client,
    Episode,
)
from shared.errors import Conflict, NotFound
from shared.identity import Principal
from shared.pagination import Page, keyset_page
from shared.unit_of_work import UnitOfWork

RecordT = TypeVar("RecordT")


def deactivated(case_manager_id: str | ColumnElement[str]) -> ColumnElement[bool]:
    """The person is a case manager marked inactive: they left the team, and their access too."""
    return exists(
        select(CaseManager.id).where(
            CaseManager.id == case_manager_id, CaseManager.active.is_(False)
        )
    )


def visible_clients(
    actor: Principal, sub: str | ColumnElement[str] | None = None
) -> ColumnElement[bool]:
    """Which clients the caller may see: admin all; supervisor their team and the unassigned;
    case manager their own (none once deactivated); intake worker the unassigned and those they
    registered. ``sub`` (a bound parameter) stands for the caller in a statement built once
    per set of roles."""
    if actor.has_any("admin"):
        return true()
    caller = actor.sub if sub is None else sub
    rules: list[ColumnElement[bool]] = []
    if actor.has_any("supervisor"):
        team = select(CaseManager.id).where(CaseManager.supervisor_id == caller)
        rules += [Client.case_manager_id.in_(team), Client.case_manager_id.is_(None)]
    if actor.has_any("case_manager"):
        rules.append(and_(Client.case_manager_id == caller, ~deactivated(caller)))
    if actor.has_any("intake_worker"):
        rules += [Client.case_manager_id.is_(None), Client.registered_by == caller]
    return or_(*rules) if rules else false()


def load_client(
    uow: UnitOfWork, actor: Principal, client_id: str, *, for_update: bool = False
) -> Client:
    statement = select(Client).where(Client.id == client_id, visible_clients(actor))
    if for_update:
        statement = statement.with_for_update()
    client = uow.session.scalars(statement).first()
    if client is None:
        raise NotFound(f"No client {client_id} that you may see.")
    if for_update and client.erased_at is not None:
        # Every service has erased the record and handles no later event about it: a change
        # here (a re-admission, an assessment) would reach no plan and no alert.
        raise Conflict(
            f"Client {client.reference}'s record was erased on {client.erased_at:%Y-%m-%d} when "
            "its retention ran out; nothing can be added to it. Register the person again as "
            "a new client.",
            erased_at=client.erased_at.isoformat(),
        )
    return client


def page_of_client_records(
    uow: UnitOfWork,
    actor: Principal,
    client_id: str,
    record: type[RecordT],
    order: Sequence[Any],
    *,
    kind: str,
    limit: int,
    cursor: str | None,
) -> Page[RecordT]:
    """One page of a client's records of one kind, oldest first; the read is audited once."""
    client = load_client(uow, actor, client_id)
    AUDIT.record(uow.session, actor, "read", kind, None, client.id)
    return client_records_page(uow, client, record, order, limit=limit, cursor=cursor)


def client_records_page(
    uow: UnitOfWork,
    client: Client,
    record: type[RecordT],
    order: Sequence[Any],
    *,
    limit: int,
    cursor: str | None,
) -> Page[RecordT]:
    """A page of a client's records of one kind in ``order`` (no access check, no audit: the
    caller did both). A list's order is one constant, so a page started in one answer (the client
    record) continues with the same cursor at the list's own endpoint."""
    return keyset_page(
        uow.session,
        select(record).where(record.client_id == client.id),  # type: ignore[attr-defined]
        list(order),
        limit=limit,
        cursor=cursor,
    )


def open_episode(client: Client) -> Episode:
    episode = client.current_episode
    if episode.status != domain.EpisodeStatus.OPEN:
        raise Conflict(f"Client {client.reference} is discharged; re-admit them first.")
    return episode


def client_event_ids(client: Client) -> dict[str, Any]:
    return {
        "client_id": client.id,
        "client_reference": client.reference,
        "episode_id": client.current_episode.id,
        "programme": client.current_episode.programme,
    }


def subject_of(client: Client) -> str:
    return f"client/{client.id}"


def supervisor_of(uow: UnitOfWork, case_manager_id: str | None) -> str | None:
    if case_manager_id is None:
        return None
    return uow.session.scalars(
        select(CaseManager.supervisor_id).where(CaseManager.id == case_manager_id)
    ).first()


def end_assignment(uow: UnitOfWork, episode: Episode, at: datetime) -> None:
    uow.session.execute(
        update(Assignment)
        .where(Assignment.episode_id == episode.id, Assignment.ended_at.is_(None))
        .values(ended_at=at)
    )
