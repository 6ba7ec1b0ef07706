"""Outbox, inbox and idempotency keys of the reporting service.

Revision ID: reporting_0001_messaging
Revises:
Create Date: 2026-11-30
"""

from shared.migrations import (
    create_idempotency_table,
    create_messaging_tables,
    drop_idempotency_table,
    drop_messaging_tables,
)

revision = "reporting_0001_messaging"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables()
    create_idempotency_table()


def downgrade() -> None:
    drop_idempotency_table()
    drop_messaging_tables()
