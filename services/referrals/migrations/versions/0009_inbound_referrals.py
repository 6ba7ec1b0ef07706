"""Partners' referrals to the agency, as the partner follows them: received, then registered,
matched or declined by intake (the person's details stay with intake).

Revision ID: referrals_0009_inbound
Revises: referrals_0006_partners
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "referrals_0009_inbound"
down_revision: str | None = "referrals_0006_partners"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_referrals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=100), nullable=False),
        sa.Column("related_referral_id", sa.String(length=36), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_referrals")),
    )
    op.create_index(
        op.f("ix_inbound_referrals_organization_id"), "inbound_referrals", ["organization_id"]
    )
    op.create_index(op.f("ix_inbound_referrals_received_at"), "inbound_referrals", ["received_at"])


def downgrade() -> None:
    op.drop_table("inbound_referrals")
