"""A client's episodes of care: discharge (with its reason), the episode closed and its carers
told, and re-admission to a new episode."""

from __future__ import annotations

from datetime import datetime

from services.intake import domain
from services.intake.events import (
    ClientDischarged,
    ClientReadmitted,
)
from services.intake.models import (
    AUDIT,
    Client,
    Episode,
)
from services.intake.operations.access import (
    client_event_ids,
    end_assignment,
    load_client,
    open_episode,
)
from shared.errors import Conflict
from shared.identity import Principal
from shared.unit_of_work import UnitOfWork


def discharge(
    uow: UnitOfWork, actor: Principal, client_id: str, reason_code: str, now: datetime
) -> Client:
    client = load_client(uow, actor, client_id, for_update=True)
    episode = open_episode(client)
    at = now
    AUDIT.record(
        uow.session, actor, "discharge", "episode", episode.id, client.id, reason_code=reason_code
    )
    close_episode(uow, client, episode, reason_code, at)
    return client


def close_episode(
    uow: UnitOfWork, client: Client, episode: Episode, reason_code: str, at: datetime
) -> None:
    """The episode ends and no one carries the client any more: every service hears it."""
    episode.status, episode.closed_at, episode.discharge_reason = (
        domain.EpisodeStatus.DISCHARGED,
        at,
        reason_code,
    )
    end_assignment(uow, episode, at)
    client.status, client.case_manager_id = domain.EpisodeStatus.DISCHARGED, None
    episode.case_manager_id = None
    client.care_version += 1
    uow.publish(
        ClientDischarged(
            **client_event_ids(client),
            discharged_at=at,
            reason_code=reason_code,
            care_version=client.care_version,
        )
    )


def readmit(uow: UnitOfWork, actor: Principal, client_id: str, now: datetime) -> Client:
    client = load_client(uow, actor, client_id, for_update=True)
    if client.merged_into_id is not None:
        raise Conflict(
            f"Client {client.reference} was merged into another record; re-admit that one.",
            merged_into_id=client.merged_into_id,
        )
    previous = client.current_episode
    if previous.status == domain.EpisodeStatus.OPEN:
        raise Conflict(f"Client {client.reference} already has an open episode.")
    client.episodes.append(Episode(number=previous.number + 1, programme=previous.programme))
    client.status = domain.EpisodeStatus.OPEN
    uow.session.flush()
    AUDIT.record(uow.session, actor, "readmit", "episode", client.current_episode.id, client.id)
    uow.publish(
        ClientReadmitted(
            **client_event_ids(client), previous_episode_id=previous.id, readmitted_at=now
        )
    )
    return client
