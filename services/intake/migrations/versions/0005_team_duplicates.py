"""Case managers and clients count their announced changes (team, assignment) so other
services' access rules keep the latest; duplicate registrations a registrar may not see go to a
review list; a merged record points to the surviving one.

Revision ID: intake_0005_team_duplicates
Revises: intake_0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_0005_team_duplicates"
down_revision: str | None = "intake_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "duplicate_reviews",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("new_client_id", sa.String(length=36), nullable=False),
        sa.Column("existing_client_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("flagged_by", sa.String(length=128), nullable=False),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("resolved_by", sa.String(length=128), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["existing_client_id"],
            ["clients.id"],
            name=op.f("fk_duplicate_reviews_existing_client_id_clients"),
        ),
        sa.ForeignKeyConstraint(
            ["new_client_id"],
            ["clients.id"],
            name=op.f("fk_duplicate_reviews_new_client_id_clients"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duplicate_reviews")),
        sa.UniqueConstraint(
            "new_client_id", "existing_client_id", name="uq_duplicate_reviews_new_existing"
        ),
    )
    with op.batch_alter_table("duplicate_reviews") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_duplicate_reviews_existing_client_id"), ["existing_client_id"]
        )
        batch_op.create_index(batch_op.f("ix_duplicate_reviews_new_client_id"), ["new_client_id"])
        batch_op.create_index(batch_op.f("ix_duplicate_reviews_status"), ["status"])
    with op.batch_alter_table("case_managers") as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("clients") as batch_op:
        batch_op.add_column(
            sa.Column("care_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("merged_into_id", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch_op:
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("care_version")
    with op.batch_alter_table("case_managers") as batch_op:
        batch_op.drop_column("version")
    with op.batch_alter_table("duplicate_reviews") as batch_op:
        batch_op.drop_index(batch_op.f("ix_duplicate_reviews_status"))
        batch_op.drop_index(batch_op.f("ix_duplicate_reviews_new_client_id"))
        batch_op.drop_index(batch_op.f("ix_duplicate_reviews_existing_client_id"))
    op.drop_table("duplicate_reviews")
