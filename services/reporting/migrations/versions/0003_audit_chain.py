"""Audit rows chained by hash: an edited or deleted row is detected (`casehub audit verify`).

Revision ID: reporting_0003_audit_chain
Revises: reporting_0002_read_model
Create Date: 2026-11-30
"""

from shared.migrations import add_audit_chain, drop_audit_chain

revision = "reporting_0003_audit_chain"
down_revision = "reporting_0002_read_model"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_audit_chain()


def downgrade() -> None:
    drop_audit_chain()
