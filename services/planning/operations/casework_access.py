"""Who may write and read a client's casework (contacts, appointments, tasks): the case manager
who carries the client's episode now and their supervisor write; admins read. Before intake
assigns the client nobody carries the episode, so nothing can be recorded yet.

Reading reaches further: whoever carries a client now reads the client's earlier episodes too
(a re-admission brings the history to the new team), and the case manager and supervisor of a
discharged episode read it for PLANNING_CONTINUITY_DAYS after (``FormerCarer``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, true

from services.planning.models import CARE_TEAM, EpisodeCare, FormerCarer
from shared.errors import NotFound
from shared.identity import Principal
from shared.unit_of_work import UnitOfWork


def _carried_now(actor: Principal) -> ColumnElement[bool]:
    rules: list[ColumnElement[bool]] = []
    if actor.has_any("supervisor"):
        rules.append(EpisodeCare.supervisor_id == actor.sub)
    if actor.has_any("case_manager"):
        rules.append(
            and_(EpisodeCare.case_manager_id == actor.sub, ~CARE_TEAM.deactivated(actor.sub))
        )
    return or_(*rules) if rules else false()


def carried_clients(actor: Principal) -> Any:
    """Ids of the clients the caller carries or supervises now (any of their episodes)."""
    return select(EpisodeCare.client_id).where(_carried_now(actor))


def continuity_episodes(actor: Principal, now: datetime | None = None) -> Any:
    """Discharged episodes the caller carried, still within the continuity period."""
    moment = now or datetime.now(UTC)
    return select(FormerCarer.episode_id).where(
        FormerCarer.carer_id == actor.sub, FormerCarer.until > moment
    )


def carrying(actor: Principal, *, write: bool, now: datetime | None = None) -> ColumnElement[bool]:
    """The episodes the caller may write (carried or supervised now) or read (those, the same
    clients' earlier episodes, and discharged ones within the continuity period; admins all)."""
    if write:
        return _carried_now(actor)
    if actor.has_any("admin"):
        return true()
    if not actor.has_any("case_manager", "supervisor"):
        return false()
    return or_(
        EpisodeCare.client_id.in_(carried_clients(actor)),
        EpisodeCare.episode_id.in_(continuity_episodes(actor, now)),
    )


def carried_episode(uow: UnitOfWork, actor: Principal, client_id: str) -> EpisodeCare:
    """The client's open episode the caller carries: where new casework is written."""
    care = uow.session.scalars(
        select(EpisodeCare).where(
            EpisodeCare.client_id == client_id,
            EpisodeCare.case_manager_id.is_not(None),
            carrying(actor, write=True),
        )
    ).first()
    if care is None:
        raise NotFound(f"No client {client_id} on a caseload you carry or supervise.")
    return care


def readable_episodes(uow: UnitOfWork, actor: Principal, client_id: str) -> list[str]:
    """The client's episodes whose casework the caller may read (404 when none)."""
    episodes = list(
        uow.session.scalars(
            select(EpisodeCare.episode_id).where(
                EpisodeCare.client_id == client_id, carrying(actor, write=False)
            )
        )
    )
    if not episodes:
        raise NotFound(f"No client {client_id} that you may see.")
    return episodes


def check_episode(uow: UnitOfWork, actor: Principal, episode_id: str, *, write: bool) -> None:
    """Raises NotFound unless the caller may read (or write) this episode's casework."""
    found = uow.session.scalars(
        select(EpisodeCare.episode_id).where(
            EpisodeCare.episode_id == episode_id, carrying(actor, write=write)
        )
    ).first()
    if found is None:
        raise NotFound("No such record that you may see.")


def carer_of_client(uow: UnitOfWork, client_id: str) -> EpisodeCare | None:
    """Who carries the client now, for tasks raised by events that name only the client."""
    return uow.session.scalars(
        select(EpisodeCare).where(
            EpisodeCare.client_id == client_id, EpisodeCare.case_manager_id.is_not(None)
        )
    ).first()
