"""Appointment reminders: the appointments to remind of, the clients who consented (with their
channel), and the two rules (the case manager; the client, only with consent).

Revision ID: notifications_0013_reminders
Revises: notifications_0009_partners
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "notifications_0013_reminders"
down_revision = "notifications_0009_partners"
branch_labels = None
depends_on = None

SCHEDULED = "planning.appointment.scheduled.v1"
RULES = [
    ("a6b1c7e0-0000-4000-8000-000000000010", "appointment reminder", ["case_manager"],
     ["email", "in_app"], "appointment_reminder"),
    ("a6b1c7e0-0000-4000-8000-000000000011", "appointment reminder to the client", ["client"],
     ["email", "sms"], "appointment_reminder_client"),
]


def upgrade() -> None:
    op.create_table(
        "appointment_reminders",
        sa.Column("appointment_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("client_reference", sa.String(length=20), nullable=False),
        sa.Column("case_manager_id", sa.String(length=128), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("video", sa.Boolean(), nullable=False),
        sa.Column("remind_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("appointment_id", name=op.f("pk_appointment_reminders")),
    )
    with op.batch_alter_table("appointment_reminders") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_appointment_reminders_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_appointment_reminders_remind_at"), ["remind_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_appointment_reminders_status"), ["status"], unique=False
        )
    op.create_table(
        "client_reminder_contacts",
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("consented", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=True),
        sa.Column("address", sa.String(length=254), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_client_reminder_contacts")),
    )
    rules = sa.table(
        "rules", sa.column("id", sa.String), sa.column("name", sa.String),
        sa.column("event_type", sa.String), sa.column("levels", sa.JSON),
        sa.column("recipients", sa.JSON), sa.column("channels", sa.JSON),
        sa.column("urgency", sa.String), sa.column("template", sa.String),
        sa.column("escalate_after_minutes", sa.Integer), sa.column("active", sa.Boolean),
    )
    op.bulk_insert(rules, [
        {"id": rule_id, "name": name, "event_type": SCHEDULED, "levels": None,
         "recipients": recipients, "channels": channels, "urgency": "normal",
         "template": template, "escalate_after_minutes": None, "active": True}
        for rule_id, name, recipients, channels, template in RULES
    ])


def downgrade() -> None:
    for rule_id, *_ in RULES:
        made = "SELECT id FROM notifications WHERE rule_id = :id"
        sent = f"SELECT id FROM deliveries WHERE notification_id IN ({made})"
        for statement in (
            f"DELETE FROM delivery_attempts WHERE delivery_id IN ({sent})",
            f"DELETE FROM deliveries WHERE notification_id IN ({made})",
            "DELETE FROM notifications WHERE rule_id = :id",
        ):
            op.execute(sa.text(statement).bindparams(id=rule_id))
        op.execute(sa.text("DELETE FROM rules WHERE id = :id").bindparams(id=rule_id))
    op.drop_table("client_reminder_contacts")
    op.drop_table("appointment_reminders")
