"""The client's consent to appointment reminders and the channel to use.

Revision ID: intake_0009_reminders
Revises: intake_0009_request_decisions
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_0009_reminders"
down_revision: str | None = "intake_0009_request_decisions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reminder_consents",
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("consented", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=True),
        sa.Column("address", sa.String(length=254), nullable=True),
        sa.Column("recorded_by", sa.String(length=128), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_reminder_consents_client_id_clients")
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_reminder_consents")),
    )


def downgrade() -> None:
    op.drop_table("reminder_consents")
