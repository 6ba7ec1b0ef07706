"""Alembic, one migration history per service, configured in code (no alembic.ini to copy)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, pool

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
