"""Client search by part of a name stays fast at half a million clients: trigram indexes on the
lower-cased names and the person key (PostgreSQL; SQLite, the embedded default, scans).

Revision ID: intake_0007_name_search
Revises: intake_0006_episode_programme
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "intake_0007_name_search"
down_revision: str | None = "intake_0006_episode_programme"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: index name -> the expression it covers; the same expressions search_clients filters on.
TRIGRAM_INDEXES = {
    "ix_clients_given_name_trgm": "lower(given_name)",
    "ix_clients_family_name_trgm": "lower(family_name)",
    "ix_clients_person_key_trgm": "person_key",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # pg_trgm is a trusted extension: the database's owner may create it without superuser.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, expression in TRIGRAM_INDEXES.items():
        op.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON clients USING gin ({expression} gin_trgm_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
