"""Client references from a sequence on PostgreSQL, continuing from the counter row.

The counter row was locked until commit, so every registration queued behind the one before;
the sequence hands out numbers without holding a lock (unique, not gap-free). SQLite keeps the
counter (one writer at a time there anyway).

Revision ID: intake_0016_reference_sequence
Revises: intake_0015_last_contact
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_0016_reference_sequence"
down_revision: str | None = "intake_0015_last_contact"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    last = bind.execute(
        sa.text("SELECT last_value FROM client_reference_counter WHERE id = 1")
    ).scalar()
    op.execute(f"CREATE SEQUENCE client_reference_seq START WITH {int(last or 1000) + 1}")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute(
        "UPDATE client_reference_counter SET last_value = "
        "(SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END "
        "FROM client_reference_seq) WHERE id = 1"
    )
    op.execute("DROP SEQUENCE client_reference_seq")
