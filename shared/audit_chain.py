"""A tamper-evident audit trail: each ``audit_log`` row carries the hash of the row before it in
its lane, so an edited row no longer matches its own hash and a deleted one breaks the link of
the next.

Rows are chained when their transaction commits, never earlier: the transaction locks one head
row of ``audit_chain`` (a lane; taking no other lock after it, so no deadlock can form), reads
its last hash, inserts its rows in order and moves that head. On PostgreSQL there are ``LANES``
heads and a transaction takes any one no other transaction holds (``SKIP LOCKED``), waiting only
when all are held: audited requests no longer queue on one row lock to their COMMIT. Each row
records its lane; ``verify`` walks every lane. SQLite keeps one lane (its writers are serial).
The heads also catch rows deleted from the end of a lane."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    event,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from shared import at_commit

#: Rows recorded in a session, waiting for its commit: (audit table, head table, values).
PENDING_KEY = "casehub_audit_pending"
HASH_LENGTH = 64
#: The columns a row's hash covers, in this order (with the previous row's hash first).
HASHED = (
    "at",
    "actor",
    "roles",
    "action",
    "entity",
    "entity_id",
    "client_id",
    "correlation_id",
    "purpose",
    "detail",
)


#: Head rows (lanes) of a PostgreSQL trail: more than the requests one process serves at once.
LANES = 8


def lane_column() -> Column[int]:
    """Which head a row is chained onto (rows from before lanes are all lane 1)."""
    return Column("lane", Integer, nullable=False, server_default="1")


def chain_columns() -> list[Column[Any]]:
    return [
        Column("prev_hash", String(HASH_LENGTH)),
        Column("row_hash", String(HASH_LENGTH)),
    ]


def head_table(metadata: MetaData) -> Table:
    """One row per lane (``id`` is the lane): the lane's last chained audit row and its hash."""
    return Table(
        "audit_chain",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("last_id", Integer),
        Column("last_hash", String(HASH_LENGTH)),
    )


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    return value


def row_hash(prev_hash: str | None, row: Mapping[str, Any]) -> str:
    """SHA-256 of the previous hash and the row's columns, as canonical JSON (the same on
    PostgreSQL and SQLite, and after a round trip through the database)."""
    body = [prev_hash] + [_plain(row.get(name)) for name in HASHED]
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def defer(session: Session, table: Table, head: Table, values: dict[str, Any]) -> None:
    """Record a row to be chained and inserted when the session's transaction commits."""
    at_commit.defer(session, PENDING_KEY, (table, head, values))


def _lock_head(session: Session, head: Table) -> Any:
    """Lane 1, waited for (SQLite, sealing, and a database made from the models)."""
    statement = select(head).where(head.c.id == 1).with_for_update()
    found = session.execute(statement).first()
    if found is None:  # a database made from the models rather than the migrations
        session.execute(insert(head).values(id=1, last_id=None, last_hash=None))
        found = session.execute(statement).first()
    return found


def _hold_lane(session: Session, head: Table) -> Any:
    """PostgreSQL: the first lane no other transaction holds; when all are held, wait for one
    picked at random (at READ COMMITTED the locked read returns its newest head)."""
    free = session.execute(
        select(head).order_by(head.c.id).limit(1).with_for_update(skip_locked=True)
    ).first()
    if free is not None:
        return free
    busy = session.execute(select(head).order_by(func.random()).limit(1).with_for_update()).first()
    return busy if busy is not None else _lock_head(session, head)


@event.listens_for(Session, "before_commit")
def _chain_pending_rows(session: Session) -> None:
    """Also inserts the rows ``at_commit.insert_at_commit`` kept (outbox rows): a lone one in the
    statement that chains a lone audit row, one round trip for both."""
    riders = at_commit.take(session, at_commit.ROWS_KEY)
    pending = at_commit.take(session, PENDING_KEY)
    if not pending:
        _insert_riders(session, riders)
        return
    by_head: dict[Table, list[tuple[Table, dict[str, Any]]]] = {}
    for table, head, values in pending:
        by_head.setdefault(head, []).append((table, values))
    postgresql = session.get_bind().dialect.name == "postgresql"
    for head, rows in by_head.items():
        if postgresql and len(rows) == 1:
            # The changes first, so the lane is held for this statement and the COMMIT only;
            # then the statement on the connection, without the ORM's execution around it.
            session.flush()
            rider = riders[0] if len(riders) == 1 else None
            chained = _chain_in_one_statement(session, *rows[0], head, rider=rider)
            if rider is not None:
                riders = []  # the statement inserted it, whether or not a lane was free
            if chained:
                continue
        if postgresql and _chain_many_rows(session, head, rows):
            continue
        last = _hold_lane(session, head) if postgresql else _lock_head(session, head)
        lane, prev, last_id = last.id, last.last_hash, last.last_id
        for table, values in rows:
            digest = row_hash(prev, values)
            last_id = session.execute(
                insert(table)
                .values(**values, lane=lane, prev_hash=prev, row_hash=digest)
                .returning(table.c.id)
            ).scalar_one()
            prev = digest
        session.execute(
            update(head).where(head.c.id == lane).values(last_id=last_id, last_hash=prev)
        )
    _insert_riders(session, riders)


def _insert_riders(session: Session, riders: list[tuple[Table, dict[str, Any]]]) -> None:
    """Rows that did not ride in an audit statement: each run of one table's rows in one
    statement, in the order they were recorded."""
    for table, run in itertools.groupby(riders, key=lambda rider: rider[0]):
        session.connection().execute(insert(table), [values for _table, values in run])


def _hashed_after_prev(values: Mapping[str, Any]) -> str:
    """The canonical JSON ``row_hash`` hashes, minus its opening ``[`` and the previous hash: the
    database puts those in front once it holds the head (``row_hash`` and this agree byte for
    byte; JSON from ``json.dumps`` is ASCII)."""
    rest = json.dumps(
        [_plain(values.get(name)) for name in HASHED],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return "," + rest[1:]


#: The one-statement chaining of ``_chain_in_one_statement``, built once per trail and set of
#: columns: building it anew for each audited request (and its cache key) was a fifth of a
#: request's CPU time in the profile. Keyed by table names, as every ``AuditTrail`` (some made
#: per call) has the same shape.
_ONE_STATEMENT: dict[tuple[Any, ...], Any] = {}


def _one_statement(
    table: Table,
    head: Table,
    columns: tuple[str, ...],
    rider: tuple[Table, tuple[str, ...]] | None = None,
) -> Any:
    """``rider``: (table, columns) of another row the statement inserts too (an outbox row: a
    data-modifying CTE runs whatever the rest of the statement finds)."""
    key = (table.name, head.name, columns, rider and (rider[0].name, rider[1]))
    statement = _ONE_STATEMENT.get(key)
    if statement is None:
        held = (
            select(head.c.id, head.c.last_hash)
            .order_by(head.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .cte("held")
        )
        prev_json = func.coalesce(literal('"') + held.c.last_hash + literal('"'), literal("null"))
        text = literal("[") + prev_json + bindparam("hashed_rest", type_=String())
        digest = func.encode(func.sha256(func.convert_to(text, literal("UTF8"))), literal("hex"))
        chained = (
            insert(table)
            .from_select(
                [*columns, "lane", "prev_hash", "row_hash"],
                select(
                    *(bindparam(f"audit_{name}", type_=table.c[name].type) for name in columns),
                    held.c.id,
                    held.c.last_hash,
                    digest,
                ).select_from(held),
            )
            .returning(table.c.id, table.c.lane, table.c.row_hash)
            .cte("chained")
        )
        statement = (
            update(head)
            .where(head.c.id == select(chained.c.lane).scalar_subquery())
            .values(
                last_id=select(chained.c.id).scalar_subquery(),
                last_hash=select(chained.c.row_hash).scalar_subquery(),
            )
        )
        if rider is not None:
            rider_table, rider_columns = rider
            row = {
                name: bindparam(f"rider_{name}", type_=rider_table.c[name].type)
                for name in rider_columns
            }
            # One row (VALUES of several rows is compiled anew each time: not cacheable).
            statement = statement.add_cte(insert(rider_table).values(row).cte("rider"))
        _ONE_STATEMENT[key] = statement
    return statement


def _chain_in_one_statement(
    session: Session,
    table: Table,
    values: dict[str, Any],
    head: Table,
    *,
    rider: tuple[Table, dict[str, Any]] | None = None,
) -> bool:
    """PostgreSQL: take a free lane, hash the row onto it, insert it and move the lane's head in
    one statement, so the head is held for that one round trip and the COMMIT, not three. False
    when no lane was free (or there is no head row yet, a database made from the models): the
    caller chains the usual way, waiting for a lane. Run on the session's connection, without the
    ORM's autoflush and execution context: the caller flushes first where there is anything.
    ``rider`` (a row inserted at commit) is inserted by the same statement in any case."""
    shape = (rider[0], tuple(rider[1])) if rider is not None else None
    statement = _one_statement(table, head, tuple(values), shape)
    parameters = {f"audit_{name}": value for name, value in values.items()}
    if rider is not None:
        parameters.update({f"rider_{name}": value for name, value in rider[1].items()})
    parameters["hashed_rest"] = _hashed_after_prev(values)
    moved = session.connection().execute(statement, parameters)
    return moved.rowcount == 1


def _chain_many_rows(
    session: Session, head: Table, rows: list[tuple[Table, dict[str, Any]]]
) -> bool:
    """PostgreSQL, several rows (a search page audits each client shown): hold a lane, take the
    rows' ids from the table's sequence, hash them here, insert them as one executemany (its
    statement is compiled once and cached, whereas a multi-row VALUES built per page was compiled
    anew each time: most of a search's CPU) and move the lane's head: four round trips however
    many rows. Ids are only ever taken while a lane is held, so within a lane id order is chain
    order. False when the rows span tables."""
    tables = {table for table, _ in rows}
    if len(tables) != 1:
        return False
    [table] = tables
    held = _hold_lane(session, head)
    ids = sorted(
        session.scalars(
            select(func.nextval(func.pg_get_serial_sequence(table.name, "id"))).select_from(
                func.generate_series(1, len(rows))
            )
        ).all()
    )
    prev, chained = held.last_hash, []
    for row_id, (_, values) in zip(ids, rows, strict=True):
        digest = row_hash(prev, values)
        chained.append(
            {**values, "id": row_id, "lane": held.id, "prev_hash": prev, "row_hash": digest}
        )
        prev = digest
    session.execute(insert(table), chained)
    session.execute(
        update(head).where(head.c.id == held.id).values(last_id=ids[-1], last_hash=prev)
    )
    return True


def chain_single_row_now(session: Session) -> list[Any]:
    """PostgreSQL, a session in autocommit (an audited read): chain its one pending row with the
    one statement, which commits by itself, durably, before this returns. Returns what is left
    to chain in a transaction of its own: nothing, or the pending rows when they are not exactly
    one or no lane was free (the statement then wrote nothing)."""
    pending = at_commit.take(session, PENDING_KEY)
    if len(pending) != 1:
        return pending
    [(table, head, values)] = pending
    chained = _chain_in_one_statement(session, table, values, head)  # nothing to flush
    return [] if chained else pending


def chain_later(session: Session, pending: list[Any]) -> None:
    """Hand rows ``chain_single_row_now`` left to a session whose commit chains them."""
    at_commit.give_back(session, PENDING_KEY, pending)


@dataclass
class Verification:
    """What ``casehub audit verify`` reports: rows checked, and each break found."""

    rows: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    head: str | None = None

    @property
    def intact(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "intact": self.intact,
            "head": self.head,
            "problems": self.problems,
        }


def seal_unchained(session: Session, table: Table, head: Table) -> int:
    """Chain rows written before the trail was chained (the migration does it), in id order,
    onto lane 1 (only the columns of that time are read: the lane column came later)."""
    last = _lock_head(session, head)
    prev, last_id, sealed = last.last_hash, last.last_id, 0
    for row in session.execute(
        select(table.c.id, *(table.c[name] for name in HASHED))
        .where(table.c.row_hash.is_(None))
        .order_by(table.c.id)
    ).mappings():
        digest = row_hash(prev, row)
        session.execute(
            update(table).where(table.c.id == row["id"]).values(prev_hash=prev, row_hash=digest)
        )
        prev, last_id, sealed = digest, row["id"], sealed + 1
    session.execute(update(head).where(head.c.id == 1).values(last_id=last_id, last_hash=prev))
    return sealed


def verify(session: Session, table: Table, head: Table, *, batch: int = 1000) -> Verification:
    """Walk the trail in id order, each lane on its own: a row whose hash does not match its
    columns was edited; a row whose ``prev_hash`` is not the hash of the row before it in its lane
    follows a deleted one (or the chain was spliced); a lane's head that is not its last row's
    hash means rows were deleted at the end of it."""
    result = Verification()
    prev: dict[int, str | None] = {}
    last_id: dict[int, int | None] = {}
    after = 0
    while True:
        rows = (
            session.execute(
                select(table).where(table.c.id > after).order_by(table.c.id).limit(batch)
            )
            .mappings()
            .all()
        )
        if not rows:
            break
        for row in rows:
            result.rows += 1
            if row["row_hash"] is None:
                result.problems.append({"id": row["id"], "problem": "unchained"})
                continue
            lane = row["lane"]
            if row["prev_hash"] != prev.get(lane):
                result.problems.append(
                    {"id": row["id"], "problem": "missing_before", "after_id": last_id.get(lane)}
                )
            if row_hash(row["prev_hash"], row) != row["row_hash"]:
                result.problems.append({"id": row["id"], "problem": "edited"})
            prev[lane], last_id[lane] = row["row_hash"], row["id"]
        after = rows[-1]["id"]
    heads = {held.id: held for held in session.execute(select(head).order_by(head.c.id))}
    result.head = heads[1].last_hash if 1 in heads else None
    for lane, held in heads.items():
        if held.last_hash != prev.get(lane) or held.last_id != last_id.get(lane):
            result.problems.append(
                {"id": held.last_id, "problem": "missing_at_end", "after_id": last_id.get(lane)}
            )
    for lane in sorted(set(prev) - set(heads)):
        result.problems.append({"id": last_id[lane], "problem": "lane_without_head"})
    return result
