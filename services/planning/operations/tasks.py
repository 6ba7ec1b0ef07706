"""Tasks and the worklist: what a case manager has to do, raised exactly once from events (a
unique source key, so a redelivered event or a second worker adds nothing), done or dismissed
with a reason; the supervisor's view of what is late in a team."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from services.planning import casework_domain
from services.planning.models import AUDIT, CARE_TEAM, Task, new_id
from services.planning.operations.casework_access import carried_episode
from shared.errors import Conflict, NotFound, Unprocessable
from shared.identity import Principal
from shared.pagination import Page, keyset_page
from shared.unit_of_work import UnitOfWork

Priority, Source = casework_domain.TaskPriority, casework_domain.TaskSource


def raise_task(
    uow: UnitOfWork,
    *,
    source: casework_domain.TaskSource,
    key: str,
    owner_id: str | None,
    title: str,
    due_on: date,
    priority: casework_domain.TaskPriority = Priority.NORMAL,
    client: Any = None,
    created_by: str = "system",
    due_at: datetime | None = None,
    crisis_episode_id: str | None = None,
    follow_up_kind: str | None = None,
) -> Task | None:
    """Insert-or-skip on ``source_key``: the task of one occurrence exists once, whichever
    worker or redelivery comes first. Returns the new task, or None when it already existed.
    ``client`` is anything with client_id, client_reference and episode_id (a plan, a care)."""
    if uow.session.scalars(select(Task.id).where(Task.source_key == key)).first() is not None:
        return None
    task = Task(
        source=str(source),
        source_key=key,
        owner_id=owner_id,
        client_id=getattr(client, "client_id", None),
        client_reference=getattr(client, "client_reference", None),
        episode_id=getattr(client, "episode_id", None),
        title=title,
        due_on=due_on,
        priority=int(priority),
        status=str(casework_domain.TaskStatus.OPEN),
        created_by=created_by,
        due_at=due_at,
        crisis_episode_id=crisis_episode_id,
        follow_up_kind=follow_up_kind,
    )
    try:
        with uow.session.begin_nested():
            uow.session.add(task)
    except IntegrityError:
        return None  # another worker made it first
    return task


def create_task(uow: UnitOfWork, actor: Principal, body: Mapping[str, Any], now: datetime) -> Task:
    """A task the case manager sets themselves (optionally about a client they carry)."""
    care = carried_episode(uow, actor, body["client_id"]) if body.get("client_id") else None
    task = raise_task(
        uow,
        source=Source.MANUAL,
        key=f"manual:{new_id()}",
        owner_id=actor.sub,
        title=body["title"],
        due_on=body["due_on"],
        priority=Priority[str(body.get("priority") or "normal").upper()],
        client=care,
        created_by=actor.sub,
    )
    assert task is not None  # a fresh key never exists
    uow.session.flush()
    AUDIT.record(uow.session, actor, "create_task", "task", task.id, task.client_id)
    return task


def settle_tasks(uow: UnitOfWork, which: ColumnElement[bool], reason: str, now: datetime) -> None:
    """The system's tasks whose work the record shows done (a review held, a safety plan
    agreed) close themselves, saying why: a worklist keeps only what is still to do."""
    uow.session.execute(
        update(Task)
        .where(which, Task.status == str(casework_domain.TaskStatus.OPEN))
        .values(
            status=str(casework_domain.TaskStatus.DONE),
            closed_at=now,
            closed_by="system",
            close_reason=reason,
        )
        .execution_options(synchronize_session=False)
    )


def _supervised_by(actor: Principal) -> ColumnElement[bool]:
    members = select(CARE_TEAM.table.c.case_manager_id).where(
        CARE_TEAM.table.c.supervisor_id == actor.sub
    )
    return Task.owner_id.in_(members)


def _visible(actor: Principal, *, write: bool) -> ColumnElement[bool]:
    if actor.has_any("admin") and not write:
        return true()
    rules: list[ColumnElement[bool]] = []
    if actor.has_any("case_manager", "supervisor"):
        rules.append(Task.owner_id == actor.sub)
    if actor.has_any("supervisor"):
        rules.append(_supervised_by(actor))
    return or_(*rules) if rules else false()


def close_task(
    uow: UnitOfWork,
    actor: Principal,
    task_id: str,
    status: str,
    reason: str | None,
    now: datetime,
) -> Task:
    task = uow.session.scalars(
        select(Task).where(Task.id == task_id, _visible(actor, write=True)).with_for_update()
    ).first()
    if task is None:
        raise NotFound(f"No task {task_id} that you may see.")
    try:
        task.status = casework_domain.close_task(task.status, status, reason)
    except casework_domain.IllegalTaskMove as refused:
        raise Conflict(str(refused), current_status=task.status) from None
    except ValueError as refused:
        raise Unprocessable("reason", str(refused)) from None
    task.closed_at, task.closed_by, task.close_reason = now, actor.sub, reason
    AUDIT.record(
        uow.session, actor, f"task_{status}", "task", task.id, task.client_id, source=task.source
    )
    return task


def _open_page(
    uow: UnitOfWork, condition: ColumnElement[bool], *, limit: int, cursor: str | None
) -> Page[Task]:
    """Open tasks, the earliest due first, then the most pressing."""
    return keyset_page(
        uow.session,
        select(Task).where(Task.status == casework_domain.TaskStatus.OPEN, condition),
        [Task.due_on, Task.priority, Task.id],
        limit=limit,
        cursor=cursor,
    )


def my_worklist(uow: UnitOfWork, actor: Principal, *, limit: int, cursor: str | None) -> Page[Task]:
    """The case manager's day: their open tasks, earliest due first."""
    AUDIT.record(uow.session, actor, "read", "worklist", None, None)
    return _open_page(uow, Task.owner_id == actor.sub, limit=limit, cursor=cursor)


def team_worklist(
    uow: UnitOfWork,
    actor: Principal,
    team_id: str,
    today: date,
    *,
    late_only: bool,
    limit: int,
    cursor: str | None,
) -> Page[Task]:
    """A supervisor's view of a team they supervise: open tasks of its case managers, by
    default only those already late. Another team is a 404, as for any record."""
    team = CARE_TEAM.table.c
    members = select(team.case_manager_id).where(team.team == team_id)
    if not actor.has_any("admin"):
        leads = uow.session.execute(
            select(team.case_manager_id).where(
                team.team == team_id, team.supervisor_id == actor.sub
            )
        ).first()
        if leads is None:
            raise NotFound(f"No team {team_id} that you supervise.")
    condition = and_(Task.owner_id.in_(members), Task.due_on < today if late_only else true())
    AUDIT.record(uow.session, actor, "read", "team_worklist", None, None, team=team_id)
    return _open_page(uow, condition, limit=limit, cursor=cursor)
