"""Audit rows chained by hash: an edited or deleted row is detected (`casehub audit verify`).

Revision ID: planning_0008_audit_chain
Revises: planning_0007_crisis_access
Create Date: 2026-11-30
"""

from shared.migrations import add_audit_chain, drop_audit_chain

revision = "planning_0008_audit_chain"
down_revision = "planning_0007_crisis_access"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_audit_chain()


def downgrade() -> None:
    drop_audit_chain()
