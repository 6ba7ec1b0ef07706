"""Tell the client's supervisor when someone used emergency (break-the-glass) access: low
urgency, so it waits for their daily digest (the next working day) when they keep one.

Revision ID: notifications_0009_crisis_access
Revises: notifications_0008_traceparent
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "notifications_0009_crisis_access"
down_revision = "notifications_0008_traceparent"
branch_labels = None
depends_on = None

RULE_ID = "a6b1c7e0-0000-4000-8000-000000000018"


def upgrade() -> None:
    rules = sa.table(
        "rules",
        sa.column("id", sa.String),
        sa.column("name", sa.String),
        sa.column("event_type", sa.String),
        sa.column("levels", sa.JSON),
        sa.column("recipients", sa.JSON),
        sa.column("channels", sa.JSON),
        sa.column("urgency", sa.String),
        sa.column("template", sa.String),
        sa.column("escalate_after_minutes", sa.Integer),
        sa.column("active", sa.Boolean),
    )
    op.bulk_insert(
        rules,
        [
            {
                "id": RULE_ID,
                "name": "emergency access used",
                "event_type": "intake.access.emergency_granted.v1",
                "levels": None,
                "recipients": ["supervisor"],
                "channels": ["email", "in_app"],
                "urgency": "low",
                "template": "emergency_access",
                "escalate_after_minutes": None,
                "active": True,
            }
        ],
    )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM rules WHERE id = :id").bindparams(id=RULE_ID))
