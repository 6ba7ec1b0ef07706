"""Partner network: each partner's own feed sequence, webhook failures counted over time, secret
rotation with an overlap, and drafts from a plan's strategy that still need a service.

Revision ID: referrals_0006_partners
Revises: referrals_0007_erasures
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "referrals_0006_partners"
down_revision: str | None = "referrals_0007_erasures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organizations") as batch_op:
        batch_op.add_column(
            sa.Column("feed_sequence", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("partner_events") as batch_op:
        batch_op.add_column(sa.Column("sequence", sa.Integer(), nullable=True))
    # Number each organisation's existing events 1, 2, 3 … in the order they were written.
    op.execute(
        sa.text(
            "UPDATE partner_events SET sequence = (SELECT COUNT(*) FROM partner_events AS e "
            "WHERE e.organization_id = partner_events.organization_id "
            "AND e.id <= partner_events.id)"
        )
    )
    op.execute(
        sa.text(
            "UPDATE organizations SET feed_sequence = COALESCE((SELECT MAX(sequence) FROM "
            "partner_events WHERE partner_events.organization_id = organizations.id), 0)"
        )
    )
    with op.batch_alter_table("partner_events") as batch_op:
        batch_op.alter_column("sequence", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(
            "uq_partner_events_org_sequence", ["organization_id", "sequence"]
        )
    with op.batch_alter_table("organizations") as batch_op:
        batch_op.alter_column("feed_sequence", existing_type=sa.Integer(), server_default=None)
    with op.batch_alter_table("webhook_subscriptions") as batch_op:
        batch_op.add_column(sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("previous_secret", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("previous_secret_until", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("referrals") as batch_op:
        batch_op.alter_column("organization_id", existing_type=sa.String(length=100), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("referrals") as batch_op:
        batch_op.alter_column(
            "organization_id", existing_type=sa.String(length=100), nullable=False
        )
    with op.batch_alter_table("webhook_subscriptions") as batch_op:
        batch_op.drop_column("previous_secret_until")
        batch_op.drop_column("previous_secret")
        batch_op.drop_column("failing_since")
    with op.batch_alter_table("partner_events") as batch_op:
        batch_op.drop_constraint("uq_partner_events_org_sequence", type_="unique")
        batch_op.drop_column("sequence")
    with op.batch_alter_table("organizations") as batch_op:
        batch_op.drop_column("feed_sequence")
