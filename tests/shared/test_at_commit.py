"""Rows written when a transaction commits (audit rows, outbox rows): an audited change that raises
an event writes both in one statement on PostgreSQL; a rolled-back savepoint forgets only what
was written inside it; a rolled-back transaction writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, event, insert, select

from shared import audit_chain
from shared.audit import AuditTrail
from shared.contracts import REGISTRY
from shared.db import Database
from shared.identity import Principal
from shared.messaging.outbox import OutboxWriter
from shared.messaging.tables import messaging_tables
from shared.unit_of_work import UnitOfWork
from tests.support.backends import Backend

DISCHARGED = "casehub.intake.client.discharged.v1"
ACTOR = Principal(sub="cm-1", roles=frozenset({"case_manager"}))


@dataclass
class Trail:
    database: Database
    audit: AuditTrail
    outbox: Any
    writer: OutboxWriter

    def change(self, uow: UnitOfWork, client: str) -> None:
        """An audited change that raises one event, as an API write does."""
        self.audit.record(uow.session, ACTOR, "discharge", "client", client, client)
        uow.publish(
            DISCHARGED,
            subject=f"client/{client}",
            data={
                "client_id": client,
                "client_reference": f"C-{client}",
                "episode_id": f"e-{client}",
                "discharged_at": datetime.now(UTC),
                "reason_code": "moved_away",
            },
        )

    def written(self) -> tuple[list[str], list[str]]:
        """Clients of the audit rows and subjects of the outbox rows, in id order."""
        with self.database.read_session() as session:
            audited = session.scalars(
                select(self.audit.table.c.client_id).order_by(self.audit.table.c.id)
            ).all()
            events = session.scalars(select(self.outbox.c.subject).order_by(self.outbox.c.id)).all()
            assert self.audit.verify(session).intact
        return list(audited), [subject.removeprefix("client/") for subject in events]


@pytest.fixture
def trail(backend: Backend, data_dir: Path) -> Iterator[Trail]:
    database = Database(backend.new_database("at_commit", data_dir))
    metadata = MetaData()
    audit = AuditTrail(metadata)
    outbox = messaging_tables(metadata).outbox
    metadata.create_all(database.engine)
    assert audit.head is not None
    with database.engine.begin() as connection:  # the lanes, as the migrations make them
        connection.execute(
            insert(audit.head), [{"id": lane} for lane in range(1, audit_chain.LANES + 1)]
        )
    yield Trail(database, audit, outbox, OutboxWriter("intake", outbox, REGISTRY))
    database.dispose()


def test_an_audited_change_with_one_event_is_one_statement_before_the_commit(
    trail: Trail, real_only: None
) -> None:
    """PostgreSQL (SQLite chains and inserts row by row: its writers are serial)."""
    statements: list[str] = []
    listen = (trail.database.engine, "before_cursor_execute")

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(*listen, count)
    try:
        with trail.database.session() as session, session.begin():
            trail.change(UnitOfWork(session, trail.writer), "c-1")
    finally:
        event.remove(*listen, count)
    assert len(statements) == 1, statements
    assert trail.written() == (["c-1"], ["c-1"])


def test_a_rolled_back_savepoint_forgets_only_what_was_written_inside_it(trail: Trail) -> None:
    """A consumer batch redone one event at a time, each in a savepoint: the audit rows and
    events of the events before a failing one commit with the batch (the audit rows used to be
    forgotten with the failing one's savepoint)."""
    with trail.database.session() as session, session.begin():
        uow = UnitOfWork(session, trail.writer)
        trail.change(uow, "before")
        with pytest.raises(RuntimeError), session.begin_nested():
            trail.change(uow, "failed")
            raise RuntimeError("the handler failed")
        with session.begin_nested():
            trail.change(uow, "after")
    assert trail.written() == (["before", "after"], ["before", "after"])


def test_a_rolled_back_transaction_writes_neither(trail: Trail) -> None:
    with pytest.raises(RuntimeError), trail.database.session() as session, session.begin():
        trail.change(UnitOfWork(session, trail.writer), "gone")
        raise RuntimeError("the request failed")
    with trail.database.session() as session, session.begin():
        trail.change(UnitOfWork(session, trail.writer), "kept")
    assert trail.written() == (["kept"], ["kept"])


@pytest.mark.parametrize("events", [1, 2, 7])
def test_events_of_one_transaction_keep_their_order(trail: Trail, events: int) -> None:
    clients = [f"c-{n}" for n in range(events)]
    with trail.database.session() as session, session.begin():
        uow = UnitOfWork(session, trail.writer)
        trail.audit.record(session, ACTOR, "import", "client", None, None)
        for client in clients:
            uow.publish(
                DISCHARGED,
                subject=f"client/{client}",
                data={
                    "client_id": client,
                    "client_reference": "C-1",
                    "episode_id": "e-1",
                    "discharged_at": datetime.now(UTC),
                    "reason_code": "moved_away",
                },
            )
    assert trail.written() == ([None], clients)
