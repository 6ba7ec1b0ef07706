"""A notification keeps the trace of the event that raised it, so its email is in that trace.

Revision ID: notifications_0008_traceparent
Revises: notifications_0007_care_team
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "notifications_0008_traceparent"
down_revision = "notifications_0007_care_team"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("traceparent", sa.String(length=55), nullable=True))


def downgrade() -> None:
    # Not a batch copy: on SQLite that drops and recreates notifications, which deliveries'
    # foreign keys refuse once there are deliveries. SQLite >= 3.35 drops a column in place.
    op.drop_column("notifications", "traceparent")
