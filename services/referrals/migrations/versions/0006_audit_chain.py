"""Audit rows chained by hash: an edited or deleted row is detected (`casehub audit verify`).

Revision ID: referrals_0006_audit_chain
Revises: referrals_0005_care_team
Create Date: 2026-11-30
"""

from shared.migrations import add_audit_chain, drop_audit_chain

revision = "referrals_0006_audit_chain"
down_revision = "referrals_0005_care_team"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_audit_chain()


def downgrade() -> None:
    drop_audit_chain()
