"""What a partner did for a referral, as the SDOH Clinical Care IG's Task.output values it sent
(a procedure code or a reference to a Procedure), kept so the Task returns them.

Revision ID: referrals_0011_activities
Revises: referrals_0010_audit_lanes
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "referrals_0011_activities"
down_revision: str | None = "referrals_0010_audit_lanes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("referrals") as batch_op:
        batch_op.add_column(sa.Column("resulting_activities", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("referrals") as batch_op:
        batch_op.drop_column("resulting_activities")
