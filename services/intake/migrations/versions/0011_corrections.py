"""The client's right to correction: requests and their outcomes (statements encrypted).

Revision ID: intake_0011_corrections
Revises: intake_0010_retention
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "intake_0011_corrections"
down_revision = "intake_0010_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "corrections",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("field", sa.String(length=50), nullable=False),
        sa.Column("requested_value", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=128), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("client_statement", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_corrections_client_id_clients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corrections")),
    )
    op.create_index(op.f("ix_corrections_client_id"), "corrections", ["client_id"])


def downgrade() -> None:
    op.drop_table("corrections")
