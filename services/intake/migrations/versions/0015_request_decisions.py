"""How intake worked a partner's referral request: decided when, by whom, the client it became
or why it was declined (encrypted, like every free text about a person).

Revision ID: intake_0009_request_decisions
Revises: intake_0008_casework
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_0009_request_decisions"
down_revision: str | None = "intake_0008_casework"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("referral_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("decided_by", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("client_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("decision_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("referral_requests", schema=None) as batch_op:
        batch_op.drop_column("decision_reason")
        batch_op.drop_column("client_id")
        batch_op.drop_column("decided_by")
        batch_op.drop_column("decided_at")
