"""The archive read a page at a time: how a new consumer (a partner, a data warehouse) is
backfilled with every event from the start, then keeps its own cursor."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.reporting.models import AUDIT, ArchivedEvent
from shared.pagination import Page, keyset_page
from shared.unit_of_work import UnitOfWork
from shared.web.auth import Principal


def archived_events(
    uow: UnitOfWork,
    actor: Principal,
    *,
    event_type: str | None,
    limit: int,
    cursor: str | None,
) -> Page[dict[str, Any]]:
    """CloudEvents in archive order (the order reporting received them); each page read is
    audited, since the events carry client ids."""
    session: Session = uow.session
    statement = select(ArchivedEvent)
    if event_type:
        statement = statement.where(ArchivedEvent.event_type == event_type)
    page = keyset_page(session, statement, [ArchivedEvent.position], limit=limit, cursor=cursor)
    AUDIT.record(
        session,
        actor,
        "read",
        "event_archive",
        None,
        None,
        events=len(page.items),
        type=event_type,
        cursor=cursor,
    )
    return Page([json.loads(row.envelope) for row in page.items], page.next_cursor)
