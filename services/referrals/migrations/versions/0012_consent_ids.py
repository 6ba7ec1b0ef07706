"""The client's consents a referral was sent under (intake's consent ids), for the SDOH Clinical
Care IG's ServiceRequest.supportingInfo. Referrals sent before this have none recorded.

Revision ID: referrals_0012_consent_ids
Revises: referrals_0011_activities
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "referrals_0012_consent_ids"
down_revision: str | None = "referrals_0011_activities"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("referrals") as batch_op:
        batch_op.add_column(sa.Column("consent_ids", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("referrals") as batch_op:
        batch_op.drop_column("consent_ids")
