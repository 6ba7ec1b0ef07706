"""A notification keeps the trace of the event that raised it, so its email is in that trace.

Revision ID: notifications_0006_traceparent
Revises: notifications_0005
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "notifications_0006_traceparent"
down_revision = "notifications_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("traceparent", sa.String(length=55), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("traceparent")
