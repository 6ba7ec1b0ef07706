"""Write requests may carry an Idempotency-Key: claims and the responses to replay.

Revision ID: referrals_0004
Revises: referrals_0003
Create Date: 2026-11-23
"""

from shared.migrations import create_idempotency_table, drop_idempotency_table

revision = "referrals_0004"
down_revision = "referrals_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_table()


def downgrade() -> None:
    drop_idempotency_table()
