"""Retention: the clients this service erased (a replayed announcement erases nothing twice).

Revision ID: referrals_0007_erasures
Revises: referrals_0006_audit_chain
Create Date: 2026-11-30
"""

from alembic import op

from shared.db import service_metadata
from shared.retention import Erasures

revision = "referrals_0007_erasures"
down_revision = "referrals_0006_audit_chain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    Erasures(service_metadata()).table.create(op.get_bind())


def downgrade() -> None:
    Erasures(service_metadata()).table.drop(op.get_bind())
