"""Referral requests: people partner organisations referred to the agency.

Revision ID: intake_0007_partners
Revises: intake_0011_corrections
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_0007_partners"
down_revision: str | None = "intake_0011_corrections"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "referral_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=100), nullable=False),
        sa.Column("client_reference", sa.String(length=20), nullable=True),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("domains", sa.JSON(), nullable=False),
        sa.Column("related_referral_id", sa.String(length=36), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_requests")),
    )
    with op.batch_alter_table("referral_requests") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_referral_requests_organization_id"), ["organization_id"]
        )
        batch_op.create_index(batch_op.f("ix_referral_requests_received_at"), ["received_at"])
        batch_op.create_index(batch_op.f("ix_referral_requests_status"), ["status"])


def downgrade() -> None:
    op.drop_table("referral_requests")
