"""Suggested changes: new unmet needs from a reassessment of an approved plan, kept for its
next review.

Revision ID: planning_0009_suggestions
Revises: planning_0009_follow_up_tasks
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "planning_0009_suggestions"
down_revision: str | None = "planning_0009_follow_up_tasks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "suggested_changes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("plan_id", sa.String(length=36), nullable=False),
        sa.Column("assessment_id", sa.String(length=36), nullable=False),
        sa.Column("domain", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("suggested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("dismiss_reason", sa.String(length=500), nullable=True),
        sa.Column("goal_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_suggested_changes_plan_id_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggested_changes")),
        sa.UniqueConstraint(
            "plan_id", "assessment_id", "domain", name="uq_suggested_changes_plan_assessment_domain"
        ),
    )
    with op.batch_alter_table("suggested_changes") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_suggested_changes_plan_id"), ["plan_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("suggested_changes")
