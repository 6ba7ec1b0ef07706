"""The audit trail records why a client record was read or changed.

Revision ID: notifications_0004
Revises: notifications_0003
Create Date: 2026-11-23
"""

from shared.migrations import add_audit_purpose, drop_audit_purpose

revision = "notifications_0004"
down_revision = "notifications_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_audit_purpose()


def downgrade() -> None:
    drop_audit_purpose()
