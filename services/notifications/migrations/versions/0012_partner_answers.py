"""Tell the case manager of every partner answer (rejected, failed, overdue, as completed
already was), and a partner's admin contact when its webhook subscription is disabled.

Revision ID: notifications_0009_partners
Revises: notifications_0011_erasures
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "notifications_0009_partners"
down_revision = "notifications_0011_erasures"
branch_labels = None
depends_on = None

RULES = [
    ("a6b1c7e0-0000-4000-8000-000000000006", "referral rejected", "referrals.referral.rejected.v1",
     ["case_manager"], ["email", "in_app"], "normal", "referral_rejected"),
    ("a6b1c7e0-0000-4000-8000-000000000007", "referral failed", "referrals.referral.failed.v1",
     ["case_manager"], ["email", "in_app"], "normal", "referral_failed"),
    ("a6b1c7e0-0000-4000-8000-000000000008", "referral overdue", "referrals.referral.overdue.v1",
     ["case_manager"], ["email", "in_app"], "normal", "referral_overdue"),
    ("a6b1c7e0-0000-4000-8000-000000000009", "partner webhook disabled",
     "referrals.webhook.disabled.v1", ["partner_admin"], ["email"], "priority",
     "partner_webhook_disabled"),
]


def upgrade() -> None:
    rules = sa.table(
        "rules", sa.column("id", sa.String), sa.column("name", sa.String),
        sa.column("event_type", sa.String), sa.column("levels", sa.JSON),
        sa.column("recipients", sa.JSON), sa.column("channels", sa.JSON),
        sa.column("urgency", sa.String), sa.column("template", sa.String),
        sa.column("escalate_after_minutes", sa.Integer), sa.column("active", sa.Boolean),
    )
    op.bulk_insert(rules, [
        {"id": rule_id, "name": name, "event_type": event_type, "levels": None,
         "recipients": recipients, "channels": channels, "urgency": urgency,
         "template": template, "escalate_after_minutes": None, "active": True}
        for rule_id, name, event_type, recipients, channels, urgency, template in RULES
    ])


def downgrade() -> None:
    for rule_id, *_ in RULES:
        op.execute(sa.text("DELETE FROM rules WHERE id = :id").bindparams(id=rule_id))
