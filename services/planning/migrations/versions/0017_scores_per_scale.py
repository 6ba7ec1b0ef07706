"""Each scale's own first and latest completion time in ``episode_scores``, so the discharge
summary's PHQ-9 and GAD-7 start and end no longer depend on the order assessments arrived in.
Existing rows take the episode's times for each scale they hold.

Revision ID: planning_0017_scores_per_scale
Revises: planning_0016_audit_lanes
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op


revision = "planning_0017_scores_per_scale"
down_revision = "planning_0016_audit_lanes"
branch_labels = None
depends_on = None

COLUMNS = ("phq9_first_at", "phq9_latest_at", "gad7_first_at", "gad7_latest_at")


def upgrade() -> None:
    with op.batch_alter_table("episode_scores") as batch:
        for column in COLUMNS:
            batch.add_column(sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    for scale in ("phq9", "gad7"):
        op.execute(
            f"UPDATE episode_scores SET {scale}_first_at = first_at, {scale}_latest_at = latest_at "
            f"WHERE {scale}_start IS NOT NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("episode_scores") as batch:
        for column in COLUMNS:
            batch.drop_column(column)
