"""Crisis episodes (from a high risk flag or a hospital discharge) and their follow-up tasks.

Revision ID: planning_0010_crisis_episodes
Revises: planning_0009_encrypted_notes
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "planning_0010_crisis_episodes"
down_revision = "planning_0009_encrypted_notes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crisis_episodes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("client_reference", sa.String(length=20), nullable=False),
        sa.Column("episode_id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("source_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(length=30), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=128), nullable=True),
        sa.Column("close_note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_episodes")),
        sa.UniqueConstraint("source", "source_id", name="uq_crisis_episodes_source_source_id"),
    )
    op.create_index(op.f("ix_crisis_episodes_client_id"), "crisis_episodes", ["client_id"])
    op.create_index(op.f("ix_crisis_episodes_episode_id"), "crisis_episodes", ["episode_id"])
    op.create_table(
        "follow_up_tasks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("crisis_episode_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assignee_id", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["crisis_episode_id"],
            ["crisis_episodes.id"],
            name=op.f("fk_follow_up_tasks_crisis_episode_id_crisis_episodes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_tasks")),
        sa.UniqueConstraint("crisis_episode_id", "kind", name="uq_follow_up_tasks_crisis_kind"),
    )
    for column in ("crisis_episode_id", "client_id", "due_at", "assignee_id"):
        op.create_index(op.f(f"ix_follow_up_tasks_{column}"), "follow_up_tasks", [column])


def downgrade() -> None:
    op.drop_table("follow_up_tasks")
    op.drop_table("crisis_episodes")
