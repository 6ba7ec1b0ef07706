"""A client's current episode in one index probe: the caseload reads, for each of up to 50 clients,
the episode with the highest number; on the client index alone that was a max() probe and then a
scan of the client's episodes for it.

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
    op.create_index("ix_episodes_client_number", "episodes", ["client_id", "number"])


def downgrade() -> None:
    op.drop_index("ix_episodes_client_number", table_name="episodes")
