"""Tell the case manager when a partner completes a referral.

Revision ID: notifications_0003
Revises: notifications_0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "notifications_0003"
down_revision = "notifications_0002"
branch_labels = None
depends_on = None

RULE_ID = "a6b1c7e0-0000-4000-8000-000000000005"


def upgrade() -> None:
    rules = sa.table(
        "rules", sa.column("id", sa.String), sa.column("name", sa.String), sa.column("event_type", sa.String),
        sa.column("levels", sa.JSON), sa.column("recipients", sa.JSON), sa.column("channels", sa.JSON),
        sa.column("urgency", sa.String), sa.column("template", sa.String),
        sa.column("escalate_after_minutes", sa.Integer), sa.column("active", sa.Boolean),
    )
    op.bulk_insert(rules, [{
        "id": RULE_ID, "name": "referral completed", "event_type": "referrals.referral.completed.v1",
        "levels": None, "recipients": ["case_manager"], "channels": ["email", "in_app"], "urgency": "normal",
        "template": "referral_update", "escalate_after_minutes": None, "active": True,
    }])


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM rules WHERE id = :id").bindparams(id=RULE_ID))
