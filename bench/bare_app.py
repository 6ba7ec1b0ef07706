"""The baseline for API throughput: bare Flask + SQLAlchemy, one insert or one select a request,
no validation, auth, audit, outbox or problem+json — served by the same gunicorn settings."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime

from flask import Flask, jsonify, request
from sqlalchemy import (
    Column,
    Date,
    DateTime,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    select,
)

METADATA = MetaData()
CLIENTS = Table(
    "bare_clients",
    METADATA,
    Column("id", String(36), primary_key=True),
    Column("given_name", String(100), nullable=False),
    Column("family_name", String(100), nullable=False),
    Column("date_of_birth", Date, nullable=False),
    Column("case_manager_id", String(128), index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def create_app() -> Flask:
    engine = create_engine(os.environ["BENCH_BARE_DATABASE_URL"], pool_size=10)
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        return {"status": "ok"}

    @app.post("/clients")
    def register():  # type: ignore[no-untyped-def]
        body = request.get_json()
        row = {
            "id": str(uuid.uuid4()),
            "given_name": body["given_name"],
            "family_name": body["family_name"],
            "date_of_birth": date.fromisoformat(body["date_of_birth"]),
            "case_manager_id": None,
            "created_at": datetime.now(UTC),
        }
        with engine.begin() as connection:
            connection.execute(insert(CLIENTS).values(row))
        return jsonify({**row, "date_of_birth": body["date_of_birth"]}), 201

    @app.get("/case-managers/<case_manager_id>/caseload")
    def caseload(case_manager_id: str):  # type: ignore[no-untyped-def]
        with engine.connect() as connection:
            rows = connection.execute(
                select(CLIENTS).where(CLIENTS.c.case_manager_id == case_manager_id)
            ).mappings()
            items = [{**row, "date_of_birth": row["date_of_birth"].isoformat()} for row in rows]
            return jsonify({"items": items, "next_cursor": None})  # our shape; 50 fit one page

    return app
