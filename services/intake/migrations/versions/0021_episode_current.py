"""A client's current episode in one index probe: the caseload reads, for each of up to 50 clients,
the episode with the highest number; on the client index alone that was a max() probe and then a
scan of the client's episodes for it. The new index replaces the one on the client alone, which it
serves as well (a registration still updates one index of episodes by client, not two).

Revision ID: intake_0021_episode_current
Revises: intake_0020_name_search_text
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "intake_0021_episode_current"
down_revision: str | None = "intake_0020_name_search_text"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("episodes") as batch_op:
        batch_op.create_index("ix_episodes_client_number", ["client_id", "number"])
        batch_op.drop_index("ix_episodes_client_id")


def downgrade() -> None:
    with op.batch_alter_table("episodes") as batch_op:
        batch_op.create_index("ix_episodes_client_id", ["client_id"])
        batch_op.drop_index("ix_episodes_client_number")
