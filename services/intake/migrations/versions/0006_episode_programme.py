"""An episode belongs to a programme (intensive case management, ACT team, housing first…):
set at registration or assignment, carried on the client events, grouped by in reports.

Revision ID: intake_0006_episode_programme
Revises: intake_0005_team_duplicates
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_0006_episode_programme"
down_revision: str | None = "intake_0005_team_duplicates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("episodes") as batch_op:
        batch_op.add_column(sa.Column("programme", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("episodes") as batch_op:
        batch_op.drop_column("programme")
