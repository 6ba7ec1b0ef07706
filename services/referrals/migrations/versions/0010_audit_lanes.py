"""Audit rows chained onto several heads (lanes) on PostgreSQL, so audited transactions no longer
queue on one row lock to their COMMIT; every row so far is lane 1 (`casehub audit verify` walks
each lane).

Revision ID: referrals_0010_audit_lanes
Revises: referrals_0009_inbound
Create Date: 2026-11-30
"""

from shared.migrations import add_audit_lanes, drop_audit_lanes

revision = "referrals_0010_audit_lanes"
down_revision = "referrals_0009_inbound"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_audit_lanes()


def downgrade() -> None:
    drop_audit_lanes()
