"""Alembic, one migration history per service, configured in code (no alembic.ini to copy)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, pool, text

from shared.db import UtcDateTime, create_database_engine, normalise_database_url, service_metadata
from shared.messaging.tables import messaging_tables


def alembic_config(migrations: Path, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.set_main_option(
        "sqlalchemy.url", normalise_database_url(database_url).replace("%", "%%")
    )
    return config


def upgrade(migrations: Path, database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(migrations, database_url), revision)


def run_migrations(target_metadata: MetaData) -> None:
    """The body of every service's ``migrations/env.py``."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = (
        create_database_engine(url)
        if url.startswith("sqlite")
        else create_engine(url, poolclass=pool.NullPool)
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            render_item=_render_plain_types,
            include_object=compared_by_autogenerate,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


#: Suffix of PostgreSQL-only indexes a migration writes by hand (trigram search indexes): the
#: models do not declare them, because SQLite has no such index, so autogenerate leaves them be.
HAND_WRITTEN_INDEX_SUFFIX = "_trgm"


def compared_by_autogenerate(
    obj: Any, name: str | None, kind: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic's ``include_object``: everything but the hand-written PostgreSQL-only indexes."""
    return not (kind == "index" and (name or "").endswith(HAND_WRITTEN_INDEX_SUFFIX))


def _render_plain_types(kind: str, obj: Any, autogen_context: Any) -> str | bool:
    """Migrations name plain SQLAlchemy types, so they never import our Python types."""
    if kind == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def create_messaging_tables() -> None:
    """Used by each service's first migration: the outbox and inbox, with their indexes."""
    tables = messaging_tables(service_metadata())
    for table in (tables.outbox, tables.inbox):
        table.create(op.get_bind())


def drop_messaging_tables() -> None:
    tables = messaging_tables(service_metadata())
    for table in (tables.inbox, tables.outbox):
        table.drop(op.get_bind())


def autogenerate(migrations: Path, message: str) -> None:
    """Write the next migration from the difference between the models and the history."""
    with tempfile.TemporaryDirectory() as folder:
        config = alembic_config(migrations, f"sqlite:///{folder}/scratch.db")
        command.upgrade(config, "head")
        command.revision(config, message=message, autogenerate=True)


def create_audit_table() -> None:
    """The audit trail as first migrated, with its indexes (one definition: ``shared.audit``);
    columns added later come from their own migrations, so old and new databases agree."""
    from shared.audit import AuditTrail

    AuditTrail(service_metadata(), as_first_migrated=True).table.create(op.get_bind())


def add_audit_purpose() -> None:
    """Every service's migration that records why a client record was read or changed."""
    from shared.audit import purpose_column

    op.add_column("audit_log", purpose_column())


def drop_audit_purpose() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("purpose")


def add_audit_chain() -> None:
    """Every service's migration that chains its audit rows by hash (``shared.audit_chain``):
    the two columns, the head row, and the rows already written chained in id order."""
    from shared import audit_chain
    from shared.audit import AuditTrail

    with op.batch_alter_table("audit_log") as batch:
        for column in audit_chain.chain_columns():
            batch.add_column(column)
    trail = AuditTrail(service_metadata())
    assert trail.head is not None
    trail.head.create(op.get_bind())
    op.get_bind().execute(trail.head.insert().values(id=1, last_id=None, last_hash=None))
    audit_chain.seal_unchained(op.get_bind(), trail.table, trail.head)  # type: ignore[arg-type]


def add_audit_lanes() -> None:
    """Every service's migration that lets audited transactions chain onto several heads
    (``shared.audit_chain.LANES``): the lane column, every row so far in lane 1, and on PostgreSQL
    the heads of the other lanes (SQLite keeps one)."""
    from shared import audit_chain

    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(audit_chain.lane_column())
    if op.get_bind().dialect.name == "postgresql":
        head = audit_chain.head_table(service_metadata())
        op.get_bind().execute(
            head.insert(),
            [
                {"id": lane, "last_id": None, "last_hash": None}
                for lane in range(2, audit_chain.LANES + 1)
            ],
        )


def drop_audit_lanes() -> None:
    """Back to one chain: only while no row was chained onto another lane (the one chain could
    not take them without rewriting their hashes)."""
    bind = op.get_bind()
    if bind.execute(text("SELECT count(*) FROM audit_log WHERE lane <> 1")).scalar_one():
        raise RuntimeError("audit rows on lanes other than 1: the one-lane trail cannot hold them")
    bind.execute(text("DELETE FROM audit_chain WHERE id <> 1"))
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("lane")


def drop_audit_chain() -> None:
    from shared import audit_chain

    audit_chain.head_table(service_metadata()).drop(op.get_bind())
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("row_hash")
        batch.drop_column("prev_hash")


def encrypt_column(table: str, key: str, column: str, *, was_json: bool = False) -> None:
    """A free-text clinical column becomes encrypted (``shared.crypto``): JSON columns turn to
    text, and every value already written is encrypted with the process's first key."""
    from sqlalchemy import text as sql

    from shared import crypto

    if was_json:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column,
                type_=sa_text_type(),
                existing_nullable=True,
                postgresql_using=f"{column}::text",
            )
    bind = op.get_bind()
    ring = crypto.keyring()
    rows = bind.execute(sql(f"SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL"))
    for row_key, stored in rows.all():
        if not str(stored).startswith(crypto.PREFIX):
            bind.execute(
                sql(f"UPDATE {table} SET {column} = :value WHERE {key} = :key"),
                {"value": ring.encrypt(str(stored)), "key": row_key},
            )


def decrypt_column(table: str, key: str, column: str, *, to_json: bool = False) -> None:
    from sqlalchemy import text as sql

    from shared import crypto

    bind = op.get_bind()
    ring = crypto.keyring()
    for row_key, stored in bind.execute(
        sql(f"SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL")
    ).all():
        bind.execute(
            sql(f"UPDATE {table} SET {column} = :value WHERE {key} = :key"),
            {"value": ring.decrypt(str(stored)), "key": row_key},
        )
    if to_json:
        from sqlalchemy import JSON

        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=JSON(), postgresql_using=f"{column}::json")


def sa_text_type() -> Any:
    from sqlalchemy import Text

    return Text()


def drop_audit_table() -> None:
    from shared.audit import AuditTrail

    AuditTrail(service_metadata()).table.drop(op.get_bind())


def create_idempotency_table() -> None:
    """Every service's migration that adds write requests' Idempotency-Key claims."""
    messaging_tables(service_metadata()).idempotency_keys.create(op.get_bind())


def drop_idempotency_table() -> None:
    messaging_tables(service_metadata()).idempotency_keys.drop(op.get_bind())


def schema_revisions(migrations: Path, database_url: str) -> tuple[set[str], set[str]]:
    """The revisions the database is at, and the heads of the service's history: equal once
    its migrations have run (what a Kubernetes init container waits for before the API starts)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config(migrations, database_url)).get_heads())
    engine = create_engine(normalise_database_url(database_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()
    return current, heads
