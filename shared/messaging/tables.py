"""The outbox, inbox and idempotency-key tables that live in every service's own database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

from shared.idempotency import idempotency_table

OUTBOX_ID = BigInteger().with_variant(Integer(), "sqlite")


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    inbox: Table
    #: Write requests' Idempotency-Key claims (``shared.idempotency``).
    idempotency_keys: Table


def messaging_tables(metadata: MetaData) -> MessagingTables:
    """Add ``outbox``, ``inbox`` and ``idempotency_keys`` to a service's metadata (each service
    has its own database)."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", OUTBOX_ID, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("event_type", String(200), nullable=False),
        Column("routing_key", String(200), nullable=False),
        Column("subject", String(200), nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True), nullable=True),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text, nullable=True),
        comment="Events written in the same transaction as the change; the relay publishes them.",
    )
    Index(
        "ix_outbox_pending",
        outbox.c.id,
        postgresql_where=outbox.c.published_at.is_(None),
        sqlite_where=outbox.c.published_at.is_(None),
    )
    Index(
        "ix_outbox_pending_subject",
        outbox.c.subject,
        outbox.c.id,
        postgresql_where=outbox.c.published_at.is_(None),
        sqlite_where=outbox.c.published_at.is_(None),
    )
    Index("ix_outbox_published_at", outbox.c.published_at)
    inbox = Table(
        "inbox",
        metadata,
        Column("event_id", String(36), primary_key=True),
        Column("event_type", String(200), nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False),
        comment="Ids of the events this service has handled, written with the handler's effects.",
    )
    return MessagingTables(outbox=outbox, inbox=inbox, idempotency_keys=idempotency_table(metadata))
