"""Outbox, inbox, idempotency keys and audit trail of the reporting service.

Revision ID: reporting_0001_messaging
Revises:
Create Date: 2026-11-30
"""

from shared.migrations import (
    add_audit_purpose,
    create_audit_table,
    create_idempotency_table,
    create_messaging_tables,
    drop_audit_table,
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
    create_audit_table()
    add_audit_purpose()


def downgrade() -> None:
    drop_audit_table()
    drop_idempotency_table()
    drop_messaging_tables()
