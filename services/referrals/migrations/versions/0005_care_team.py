"""Team changes reach referrals's access rules: the care team projection (who supervises which
case manager, who is active, at which version) and the version of each client's care.

Revision ID: referrals_0005_care_team
Revises: referrals_0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "referrals_0005_care_team"
down_revision: str | None = "referrals_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "care_team",
        sa.Column("case_manager_id", sa.String(length=128), nullable=False),
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("supervisor_id", sa.String(length=128), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_manager_id", name=op.f("pk_care_team")),
    )
    with op.batch_alter_table("care_team") as batch_op:
        batch_op.create_index(batch_op.f("ix_care_team_supervisor_id"), ["supervisor_id"])
    with op.batch_alter_table("client_care") as batch_op:
        batch_op.add_column(sa.Column("care_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("client_care") as batch_op:
        batch_op.drop_column("care_version")
    with op.batch_alter_table("care_team") as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_team_supervisor_id"))
    op.drop_table("care_team")
