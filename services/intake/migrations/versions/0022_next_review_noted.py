"""The caseload's next review, order-proof: each episode keeps when planning raised the event
that set it, so a late or redelivered older event (a review that fell due before the plan was
approved again, an approval before the plan closed) never puts back a date that no longer holds.

Revision ID: intake_0022_next_review_noted
Revises: intake_0021_episode_current
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_0022_next_review_noted"
down_revision: str | None = "intake_0021_episode_current"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("episodes") as batch_op:
        batch_op.add_column(
            sa.Column("next_review_noted_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("episodes") as batch_op:
        batch_op.drop_column("next_review_noted_at")
