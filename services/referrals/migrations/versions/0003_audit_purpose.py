"""The audit trail records why a client record was read or changed.

Revision ID: referrals_0003
Revises: referrals_0002
Create Date: 2026-11-23
"""

from shared.migrations import add_audit_purpose, drop_audit_purpose

revision = "referrals_0003"
down_revision = "referrals_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_audit_purpose()


def downgrade() -> None:
    drop_audit_purpose()
