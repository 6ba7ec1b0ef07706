"""Cursor pagination over real tables: every row once, in key order, and forged cursors refused."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Integer, String, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import Database, UtcDateTime, service_metadata
from shared.errors import Unprocessable
from shared.pagination import keyset_page, ordered_page
from tests.support.backends import Backend


class _Base(DeclarativeBase):
    metadata = service_metadata()


class _Row(_Base):
    __tablename__ = "paged_rows"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    rank: Mapped[int] = mapped_column(Integer)


START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def database(backend: Backend, data_dir: Path) -> Iterator[Database]:
    database = Database(backend.new_database("paging", data_dir))
    _Base.metadata.create_all(database.engine)
    with database.session() as session, session.begin():
        session.execute(
            insert(_Row),
            [
                {"id": f"r{n:02}", "at": START + timedelta(minutes=n // 3), "rank": n % 4}
                for n in range(20)
            ],
        )
    yield database
    database.dispose()


def _all_pages(database: Database, keys: list[object], limit: int) -> list[str]:
    seen: list[str] = []
    cursor = None
    with database.session() as session:
        while True:
            page = keyset_page(session, select(_Row), keys, limit=limit, cursor=cursor)
            seen += [row.id for row in page.items]
            if page.next_cursor is None:
                return seen
            cursor = page.next_cursor


@pytest.mark.parametrize("limit", [1, 3, 7, 50])
def test_pages_by_a_timestamp_then_id_visit_every_row_once_in_order(
    database: Database, limit: int
) -> None:
    seen = _all_pages(database, [_Row.at, _Row.id], limit)
    assert seen == [f"r{n:02}" for n in range(20)]


def test_pages_by_an_integer_then_id(database: Database) -> None:
    seen = _all_pages(database, [_Row.rank, _Row.id], 4)
    assert seen == sorted((f"r{n:02}" for n in range(20)), key=lambda i: (int(i[1:]) % 4, i))


def _cursor(values: list[object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 !",
        _cursor(["2026-11-23T09:00:00+00:00"]),  # one value for two keys
        _cursor(["yesterday", "r01"]),
        _cursor(["2026-11-23T09:00:00", "r01"]),  # no zone
        _cursor([5, "r01"]),
        _cursor(["2026-11-23T09:00:00+00:00", 7]),
    ],
)
def test_a_forged_cursor_is_refused_as_such(database: Database, cursor: str) -> None:
    with database.session() as session, pytest.raises(Unprocessable, match="cursor"):
        keyset_page(session, select(_Row), [_Row.at, _Row.id], limit=5, cursor=cursor)


@pytest.mark.parametrize("limit", [1, 3, 50])
def test_descending_pages_visit_every_row_once_newest_first(database: Database, limit: int) -> None:
    seen: list[str] = []
    cursor = None
    with database.session() as session:
        while True:
            page = keyset_page(
                session,
                select(_Row),
                [_Row.at, _Row.id],
                limit=limit,
                cursor=cursor,
                descending=True,
            )
            seen += [row.id for row in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert seen == [f"r{n:02}" for n in reversed(range(20))]


RANKED = [("high", 3, "C-1"), ("none", 0, "C-2"), ("high", 3, "C-3"), ("low", 1, "C-4")]


def _rank(entry: tuple[str, int, str]) -> tuple[int, str]:
    return (-entry[1], entry[2])


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 10])
def test_a_rank_computed_in_python_pages_every_item_once_in_order(limit: int) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        page = ordered_page(RANKED, _rank, limit=limit, cursor=cursor)
        seen += [entry[2] for entry in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == ["C-1", "C-3", "C-4", "C-2"]


@pytest.mark.parametrize(
    "cursor", ["not base64 !", _cursor([-3]), _cursor(["C-1", -3]), _cursor([True, "C-1"])]
)
def test_a_forged_cursor_of_a_python_rank_is_refused_as_such(cursor: str) -> None:
    with pytest.raises(Unprocessable, match="cursor"):
        ordered_page(RANKED, _rank, limit=2, cursor=cursor)
