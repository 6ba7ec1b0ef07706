"""Search by part of a name is served by the trigram index on PostgreSQL: the very statement the
API runs for ``GET /clients?name=`` can use it (checked with plain scans switched off, since on a
small table the planner would rightly scan)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text

from tests.intake.conftest import IntakeApi


def test_the_search_statement_can_use_the_trigram_index(real_only: None, intake: IntakeApi) -> None:
    intake.register("Sam", "Okafor")
    intake.register("Alex", "Rivera")
    engine = intake.runtime.database.engine
    seen: list[tuple[str, Any]] = []

    def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM clients" in statement and "LIKE" in statement.upper():
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", remember)
    try:
        found = intake.call("GET", "/clients?name=okaf", as_=("admin-1", "admin"))
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    assert found.status_code == 200, found.json
    assert [item["family_name"] for item in found.json["items"]] == ["Okafor"]
    assert len(seen) == 1, seen
    statement, parameters = seen[0]
    with engine.connect() as connection:
        # Only bitmap scans left: the plan shows which indexes the filter itself can use
        # (with 500,000 rows and a rare name the planner picks them on its own).
        connection.execute(text("SET enable_seqscan = off"))
        connection.execute(text("SET enable_indexscan = off"))
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute("EXPLAIN " + statement, parameters)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        connection.rollback()
    assert "ix_clients_name_search_trgm" in plan, plan
