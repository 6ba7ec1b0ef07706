"""Reassessments announced once per episode and due date.

Revision ID: intake_0007_casework
Revises: intake_0007_partners
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_0007_casework"
down_revision: str | None = "intake_0007_partners"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reassessment_notices",
        sa.Column("episode_id", sa.String(length=36), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("announced_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["episodes.id"],
            name=op.f("fk_reassessment_notices_episode_id_episodes"),
        ),
        sa.PrimaryKeyConstraint("episode_id", "due_on", name=op.f("pk_reassessment_notices")),
    )


def downgrade() -> None:
    op.drop_table("reassessment_notices")
