"""Retention: a legal hold per client, when the record was erased, and what each service
reported erasing.

Revision ID: intake_0010_retention
Revises: intake_0009_encrypted_notes
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "intake_0010_retention"
down_revision = "intake_0009_encrypted_notes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.add_column(
            sa.Column("legal_hold", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("legal_hold_reason", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "erasure_reports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("service", sa.String(length=50), nullable=False),
        sa.Column("erased", sa.JSON(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_reports")),
        sa.UniqueConstraint("client_id", "service", name="uq_erasure_reports_client_id_service"),
    )
    op.create_index(op.f("ix_erasure_reports_client_id"), "erasure_reports", ["client_id"])


def downgrade() -> None:
    op.drop_table("erasure_reports")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("erased_at")
        batch.drop_column("legal_hold_reason")
        batch.drop_column("legal_hold")
