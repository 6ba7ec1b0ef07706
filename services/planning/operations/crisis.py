"""Crisis episodes: a high risk flag (or a hospital discharge the case manager reports) opens
one, with follow-up contacts within 24 and 72 hours on the worklist, each made exactly once
however often the event is delivered; what was done and the outcome are recorded, and it
closes with a note."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, true

from services.planning import casework_domain
from services.planning.models import (
    AUDIT,
    EMERGENCY_GRANTS,
    CrisisEpisode,
    EpisodeCare,
    Task,
)
from services.planning.operations.tasks import raise_task
from shared.clock import agency_date
from shared.db import insert_ignoring_duplicates, new_id
from shared.errors import Conflict, NotFound, Unprocessable
from shared.identity import Principal
from shared.pagination import Page, keyset_page
from shared.unit_of_work import UnitOfWork


def _care(uow: UnitOfWork, episode_id: str) -> EpisodeCare | None:
    return uow.session.get(EpisodeCare, episode_id)


def _open(
    uow: UnitOfWork,
    *,
    client_id: str,
    client_reference: str,
    episode_id: str,
    source: str,
    source_id: str,
    at: datetime,
    case_manager_id: str | None = None,
) -> CrisisEpisode:
    """The crisis episode of this source, created once (insert-if-absent on its natural key,
    so two consumers or a redelivery make one), with its follow-up tasks made once too. They go
    to whoever carries the episode here, else to the case manager the source names (a risk flag
    can arrive before the assignment it follows: a follow-up nobody owns is on nobody's list)."""
    table = CrisisEpisode.__table__
    insert_ignoring_duplicates(
        uow.session,
        table,  # type: ignore[arg-type]
        [
            {
                "id": new_id(),
                "client_id": client_id,
                "client_reference": client_reference,
                "episode_id": episode_id,
                "source": source,
                "source_id": source_id,
                "status": "open",
                "opened_at": at,
                "actions": [],
            }
        ],
        table.c.id,  # type: ignore[attr-defined]
    )
    crisis = uow.session.scalars(
        select(CrisisEpisode).where(
            CrisisEpisode.source == source, CrisisEpisode.source_id == source_id
        )
    ).one()
    care = _care(uow, episode_id)
    for kind, due in casework_domain.follow_up_schedule(crisis.opened_at):
        title, priority = casework_domain.FOLLOW_UP_TASKS[kind]
        raise_task(
            uow,
            source=casework_domain.TaskSource.CRISIS_FOLLOW_UP,
            key=f"crisis_follow_up:{crisis.id}:{kind}",
            owner_id=(care.case_manager_id if care else None) or case_manager_id,
            title=title,
            due_on=agency_date(due),
            priority=priority,
            client=crisis,
            due_at=due,
            crisis_episode_id=crisis.id,
            follow_up_kind=kind,
        )
    return crisis


def open_from_high_risk(uow: UnitOfWork, data: Mapping[str, Any]) -> CrisisEpisode | None:
    if data["level"] != "high":
        return None
    flagged = data["flagged_at"]
    at = flagged if isinstance(flagged, datetime) else datetime.fromisoformat(flagged)
    return _open(
        uow,
        client_id=data["client_id"],
        client_reference=data["client_reference"],
        episode_id=data["episode_id"],
        source="risk_flag",
        source_id=data["flag_id"],
        at=at,
        case_manager_id=data.get("case_manager_id"),
    )


def _carried(actor: Principal) -> ColumnElement[bool]:
    """Episodes the caller carries or supervises now (intake's latest assignment)."""
    if actor.has_any("admin"):
        return true()
    rules: list[ColumnElement[bool]] = []
    if actor.has_any("supervisor"):
        rules.append(EpisodeCare.supervisor_id == actor.sub)
    if actor.has_any("case_manager"):
        rules.append(EpisodeCare.case_manager_id == actor.sub)
    return or_(*rules) if rules else false()


def _client_episode(uow: UnitOfWork, actor: Principal, client_id: str) -> EpisodeCare:
    care = uow.session.scalars(
        select(EpisodeCare)
        .where(EpisodeCare.client_id == client_id, _carried(actor))
        .order_by(EpisodeCare.care_version.desc())
    ).first()
    if care is None:
        raise NotFound(f"No client {client_id} that you carry or supervise.")
    return care


def report_hospital_discharge(
    uow: UnitOfWork, actor: Principal, client_id: str, discharged_at: datetime
) -> CrisisEpisode:
    """The case manager reports a discharge from hospital: the same 24 h / 72 h follow-up."""
    care = _client_episode(uow, actor, client_id)
    crisis = _open(
        uow,
        client_id=client_id,
        client_reference=care.client_reference,
        episode_id=care.episode_id,
        source="hospital_discharge",
        source_id=new_id(),
        at=discharged_at,
    )
    AUDIT.record(
        uow.session, actor, "hospital_discharge.report", "crisis_episode", crisis.id, client_id
    )
    return crisis


def list_crises(
    uow: UnitOfWork, actor: Principal, client_id: str, *, limit: int, cursor: str | None
) -> Page[CrisisEpisode]:
    _client_episode(uow, actor, client_id)
    page = keyset_page(
        uow.session,
        select(CrisisEpisode).where(CrisisEpisode.client_id == client_id),
        [CrisisEpisode.opened_at, CrisisEpisode.id],
        limit=limit,
        cursor=cursor,
    )
    AUDIT.record(uow.session, actor, "crisis_episode.list", "client", client_id, client_id)
    return page


def follow_ups_of(uow: UnitOfWork, crises: Sequence[CrisisEpisode]) -> dict[str, list[Task]]:
    """Each crisis's follow-ups (tasks on the case manager's one worklist) by crisis id, for a
    page of crises in one statement."""
    found: dict[str, list[Task]] = {crisis.id: [] for crisis in crises}
    if found:
        for task in uow.session.scalars(
            select(Task).where(Task.crisis_episode_id.in_(list(found))).order_by(Task.due_at)
        ):
            found[str(task.crisis_episode_id)].append(task)
    return found


def _load_crisis(uow: UnitOfWork, actor: Principal, crisis_id: str, now: datetime) -> CrisisEpisode:
    """The crisis, for its case manager, their supervisor, an admin, or whoever holds an
    emergency grant for the client (on call acting in the crisis)."""
    crisis = uow.session.get(CrisisEpisode, crisis_id, with_for_update=True)
    if crisis is not None:
        carried = uow.session.scalars(
            select(EpisodeCare.episode_id).where(
                and_(EpisodeCare.episode_id == crisis.episode_id, _carried(actor))
            )
        ).first()
        granted = EMERGENCY_GRANTS.in_force(uow.session, crisis.client_id, actor.sub, now)
        if carried or granted is not None or actor.has_any("admin"):
            return crisis
    raise NotFound(f"No crisis episode {crisis_id} that you may see.")


def record_action(
    uow: UnitOfWork, actor: Principal, crisis_id: str, action: str, now: datetime
) -> CrisisEpisode:
    crisis = _load_crisis(uow, actor, crisis_id, now)
    if crisis.status != "open":
        raise Conflict("The crisis episode is closed.", current_status=crisis.status)
    crisis.actions = [*crisis.actions, {"action": action, "by": actor.sub, "at": now.isoformat()}]
    AUDIT.record(
        uow.session,
        actor,
        "crisis_episode.action",
        "crisis_episode",
        crisis.id,
        crisis.client_id,
        crisis_action=action,
    )
    return crisis


def close_crisis(
    uow: UnitOfWork, actor: Principal, crisis_id: str, outcome: str, note: str, now: datetime
) -> CrisisEpisode:
    crisis = _load_crisis(uow, actor, crisis_id, now)
    if crisis.status != "open":
        raise Conflict("The crisis episode is already closed.", current_status=crisis.status)
    if not note.strip():
        raise Unprocessable("note", "Say how the crisis ended.")
    crisis.status, crisis.outcome, crisis.close_note = "closed", outcome, note
    crisis.closed_at, crisis.closed_by = now, actor.sub
    AUDIT.record(
        uow.session,
        actor,
        "crisis_episode.close",
        "crisis_episode",
        crisis.id,
        crisis.client_id,
        outcome=outcome,
    )
    return crisis


def worklist(
    uow: UnitOfWork, actor: Principal, status: str | None, *, limit: int, cursor: str | None
) -> Page[Task]:
    """Follow-ups of the episodes the caller carries or supervises, soonest due first (the
    same tasks ``/me/worklist`` shows, seen from the crisis side)."""
    statement = (
        select(Task)
        .join(CrisisEpisode, CrisisEpisode.id == Task.crisis_episode_id)
        .join(EpisodeCare, EpisodeCare.episode_id == CrisisEpisode.episode_id, isouter=True)
        .where(_carried(actor) if not actor.has_any("admin") else true())
    )
    if status:
        statement = statement.where(Task.status == status)
    return keyset_page(uow.session, statement, [Task.due_at, Task.id], limit=limit, cursor=cursor)


def complete_follow_up(uow: UnitOfWork, actor: Principal, task_id: str, now: datetime) -> Task:
    task = uow.session.get(Task, task_id, with_for_update=True)
    crisis = (
        uow.session.get(CrisisEpisode, task.crisis_episode_id)
        if task is not None and task.crisis_episode_id
        else None
    )
    if task is None or crisis is None:
        raise NotFound(f"No follow-up {task_id} that you may see.")
    _load_crisis(uow, actor, crisis.id, now)
    if task.status != casework_domain.TaskStatus.OPEN:
        raise Conflict("The follow-up contact is already recorded.", current_status=task.status)
    task.status = str(casework_domain.TaskStatus.DONE)
    task.closed_at, task.closed_by = now, actor.sub
    AUDIT.record(uow.session, actor, "follow_up.complete", "follow_up", task.id, task.client_id)
    return task
