"""Case managers, their caseload caps and teams, and assigning a client's episode."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from services.intake import domain
from services.intake.events import CaseAssigned, CaseManagerUpdated
from services.intake.models import (
    AUDIT,
    Assignment,
    CaseManager,
    Client,
    RiskFlag,
)
from services.intake.operations.access import (
    client_event_ids,
    end_assignment,
    load_client,
    open_episode,
)
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.identity import Principal
from shared.pagination import Page, keyset_page
from shared.unit_of_work import UnitOfWork


def save_case_manager(
    uow: UnitOfWork,
    actor: Principal,
    case_manager_id: str,
    values: Mapping[str, Any],
    now: datetime,
) -> CaseManager:
    """Admins add case managers and move them between teams; a supervisor changes those of their
    own team (an unknown id, or another team's, is a 404 to them). A change of team, supervisor,
    cap or active is announced (``case_manager.updated``) in the same transaction, so every
    service's access rules follow it."""
    is_admin = actor.has_any("admin")
    manager = uow.session.get(CaseManager, case_manager_id, with_for_update=True)
    if manager is None and is_admin:
        manager = CaseManager(id=case_manager_id, version=0)
        uow.session.add(manager)
    elif manager is None or (not is_admin and manager.supervisor_id != actor.sub):
        raise NotFound(f"No case manager {case_manager_id} in your team.")
    if not is_admin and values.get("supervisor_id") != actor.sub:
        raise Forbidden("A supervisor manages the case managers of their own team only.")
    announced = announced_state(manager)
    manager.display_name = values["display_name"]
    manager.team = values["team"]
    manager.supervisor_id = values.get("supervisor_id")
    manager.caseload_cap = values.get("caseload_cap", domain.DEFAULT_CASELOAD_CAP)
    manager.active = values.get("active", True)
    changed = announced_state(manager) != announced
    if changed:
        manager.version += 1
    uow.session.flush()
    AUDIT.record(
        uow.session,
        actor,
        "save",
        "case_manager",
        manager.id,
        None,
        caseload_cap=manager.caseload_cap,
        supervisor_id=manager.supervisor_id,
        active=manager.active,
    )
    if changed:
        uow.publish(
            CaseManagerUpdated(
                case_manager_id=manager.id,
                team=manager.team,
                supervisor_id=manager.supervisor_id,
                caseload_cap=manager.caseload_cap,
                active=manager.active,
                version=manager.version,
                updated_at=now,
            )
        )
    return manager


def announced_state(manager: CaseManager) -> tuple[Any, ...]:
    """What other services learn of a case manager: never their name."""
    return (manager.team, manager.supervisor_id, manager.caseload_cap, manager.active)


def loads(uow: UnitOfWork, managers: Sequence[CaseManager]) -> list[domain.CaseManagerLoad]:
    ids = [manager.id for manager in managers]
    active = dict(
        uow.session.execute(
            select(Client.case_manager_id, func.count())
            .where(Client.case_manager_id.in_(ids))
            .group_by(Client.case_manager_id)
        ).all()
    )
    flags = dict(
        uow.session.execute(
            select(Client.case_manager_id, func.count())
            .join(RiskFlag, RiskFlag.client_id == Client.id)
            .where(Client.case_manager_id.in_(ids), RiskFlag.status == "open")
            .group_by(Client.case_manager_id)
        ).all()
    )
    return [
        domain.CaseManagerLoad(
            manager.id, manager.caseload_cap, active.get(manager.id, 0), flags.get(manager.id, 0)
        )
        for manager in managers
    ]


def team_view(
    uow: UnitOfWork, actor: Principal, team: str | None, *, limit: int, cursor: str | None
) -> Page[tuple[CaseManager, domain.CaseManagerLoad]]:
    statement = select(CaseManager)
    if not actor.has_any("admin", "intake_worker"):  # intake assigns across every team
        statement = statement.where(CaseManager.supervisor_id == actor.sub)
    if team:
        statement = statement.where(CaseManager.team == team)
    page = keyset_page(uow.session, statement, [CaseManager.id], limit=limit, cursor=cursor)
    return Page(list(zip(page.items, loads(uow, page.items), strict=True)), page.next_cursor)


def assign(
    uow: UnitOfWork,
    actor: Principal,
    client_id: str,
    *,
    case_manager_id: str | None,
    team: str | None,
    override_reason: str | None,
    now: datetime,
    programme: str | None = None,
) -> tuple[Client, Assignment]:
    client = load_client(uow, actor, client_id, for_update=True)
    episode = open_episode(client)
    if case_manager_id is not None:
        manager = uow.session.get(CaseManager, case_manager_id, with_for_update=True)
        if manager is None or not manager.active:
            raise Unprocessable("case_manager_id", "no active case manager with this id")
        [load] = loads(uow, [manager])
        if client.case_manager_id == manager.id:
            raise Conflict(f"Client {client.reference} is already assigned to {manager.id}.")
        decision = domain.decide_assignment(
            load, override_reason=override_reason, by_supervisor=actor.has_any("supervisor")
        )
        method = "explicit"
    else:
        if not team:
            raise Unprocessable(
                "team", "name a team for automatic assignment, or a case_manager_id"
            )
        managers = list(
            uow.session.scalars(
                select(CaseManager)
                .where(CaseManager.team == team, CaseManager.active.is_(True))
                .order_by(CaseManager.id)
                .with_for_update()
            )
        )
        candidates = [
            load for load in loads(uow, managers) if load.case_manager_id != client.case_manager_id
        ]
        chosen = domain.choose_case_manager(candidates, team_name=team)
        decision = domain.AssignmentDecision(
            chosen.case_manager_id, over_cap=False, override_reason=None
        )
        method = "automatic"
    at = now
    previous = client.case_manager_id
    client.care_version += 1
    end_assignment(uow, episode, at)
    assignment = Assignment(
        episode_id=episode.id,
        client_id=client.id,
        case_manager_id=decision.case_manager_id,
        method=method,
        assigned_by=actor.sub,
        assigned_at=at,
        over_cap=decision.over_cap,
        override_reason=decision.override_reason,
    )
    uow.session.add(assignment)
    client.case_manager_id = episode.case_manager_id = decision.case_manager_id
    if programme is not None:
        episode.programme = programme
    uow.session.flush()
    AUDIT.record(
        uow.session,
        actor,
        "assign",
        "episode",
        episode.id,
        client.id,
        case_manager_id=decision.case_manager_id,
        method=method,
        over_cap=decision.over_cap,
        override_reason=decision.override_reason,
    )
    team = uow.session.get(CaseManager, decision.case_manager_id)
    assert team is not None
    uow.publish(
        CaseAssigned(
            **client_event_ids(client),
            case_manager_id=decision.case_manager_id,
            previous_case_manager_id=previous,
            supervisor_id=team.supervisor_id,
            assigned_by=actor.sub,
            method=method,
            over_cap=decision.over_cap,
            assigned_at=at,
            care_version=client.care_version,
            case_manager_version=team.version,
        )
    )
    return client, assignment
