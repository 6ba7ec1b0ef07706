"""Crisis follow-ups become tasks: one worklist (``/me/worklist`` shows them with the rest),
each with the exact time it falls due; the follow_up_tasks table's rows move into tasks.

Revision ID: planning_0009_follow_up_tasks
Revises: planning_0008_casework
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "planning_0009_follow_up_tasks"
down_revision: str | None = "planning_0008_casework"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TITLE = (
    "CASE f.kind WHEN 'contact_within_24h' "
    "THEN 'Contact the client within 24 hours of the crisis' "
    "ELSE 'Contact the client within 72 hours of the crisis' END"
)
_PRIORITY = "CASE f.kind WHEN 'contact_within_24h' THEN 0 ELSE 1 END"


def _due_day(dialect: str) -> str:
    """The due day as a date (UTC; the agency's zone is not known to a migration)."""
    return "CAST(f.due_at AT TIME ZONE 'UTC' AS DATE)" if dialect == "postgresql" else "date(f.due_at)"


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("crisis_episode_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("follow_up_kind", sa.String(length=30), nullable=True))
        batch_op.create_index(batch_op.f("ix_tasks_due_at"), ["due_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_tasks_crisis_episode_id"), ["crisis_episode_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_tasks_crisis_episode_id_crisis_episodes"),
            "crisis_episodes",
            ["crisis_episode_id"],
            ["id"],
        )
    dialect = op.get_bind().dialect.name
    op.execute(
        "INSERT INTO tasks (id, source, source_key, owner_id, client_id, client_reference, "
        "episode_id, title, due_on, priority, status, created_at, created_by, closed_at, "
        "closed_by, close_reason, due_at, crisis_episode_id, follow_up_kind) "
        "SELECT f.id, 'crisis_follow_up', "
        "'crisis_follow_up:' || f.crisis_episode_id || ':' || f.kind, f.assignee_id, "
        f"f.client_id, c.client_reference, c.episode_id, {_TITLE}, {_due_day(dialect)}, "
        f"{_PRIORITY}, f.status, c.opened_at, 'system', f.done_at, f.done_by, NULL, f.due_at, "
        "f.crisis_episode_id, f.kind "
        "FROM follow_up_tasks f JOIN crisis_episodes c ON c.id = f.crisis_episode_id"
    )
    op.drop_table("follow_up_tasks")


def downgrade() -> None:
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
    op.execute(
        "INSERT INTO follow_up_tasks (id, crisis_episode_id, client_id, kind, due_at, "
        "assignee_id, status, done_at, done_by) "
        "SELECT id, crisis_episode_id, client_id, follow_up_kind, due_at, owner_id, "
        "CASE status WHEN 'open' THEN 'open' ELSE 'done' END, closed_at, closed_by "
        "FROM tasks WHERE source = 'crisis_follow_up'"
    )
    op.execute("DELETE FROM tasks WHERE source = 'crisis_follow_up'")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_tasks_crisis_episode_id_crisis_episodes"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_tasks_crisis_episode_id"))
        batch_op.drop_index(batch_op.f("ix_tasks_due_at"))
        batch_op.drop_column("follow_up_kind")
        batch_op.drop_column("crisis_episode_id")
        batch_op.drop_column("due_at")
