"""Write requests may carry an Idempotency-Key: claims and the responses to replay.

Revision ID: notifications_0005
Revises: notifications_0004
Create Date: 2026-11-23
"""

from shared.migrations import create_idempotency_table, drop_idempotency_table

revision = "notifications_0005"
down_revision = "notifications_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_table()


def downgrade() -> None:
    drop_idempotency_table()
