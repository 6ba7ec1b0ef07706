"""Recipients compared exactly: the escalation level and the kind of recipient get columns of
their own, instead of "sup-1#escalation1" in the recipient (which was matched with LIKE).

Backfill: "<person>#escalation<N>" becomes recipient <person> at escalation_level N, and the
on-call addresses are marked as such. The delivery's unique key gains the escalation level, so a
reminder to someone already told is its own row, never a clash with the first alert.

Revision ID: notifications_0006_recipients
Revises: notifications_0005
Create Date: 2026-11-24
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "notifications_0006_recipients"
down_revision = "notifications_0005"
branch_labels = None
depends_on = None

OLD_KEY = "uq_deliveries_notification_id"
NEW_KEY = "uq_deliveries_notification_recipient_channel_level"
ON_CALL = ("on_call", "intake_on_call")
ESCALATION_SUFFIX = re.compile(r"^(?P<person>.+)#escalation(?P<level>\d+)$")

deliveries = sa.table(
    "deliveries",
    sa.column("id", sa.String),
    sa.column("recipient", sa.String),
    sa.column("recipient_kind", sa.String),
    sa.column("escalation_level", sa.Integer),
)


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.add_column(
            sa.Column("recipient_kind", sa.String(length=20), nullable=False, server_default="person")
        )
        batch_op.add_column(
            sa.Column("escalation_level", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.drop_constraint(OLD_KEY, type_="unique")  # the backfill would break it
    connection = op.get_bind()
    connection.execute(
        deliveries.update()
        .where(deliveries.c.recipient.in_(ON_CALL))
        .values(recipient_kind="on_call")
    )
    escalated = connection.execute(
        sa.select(deliveries.c.id, deliveries.c.recipient).where(
            deliveries.c.recipient.like("%#escalation%")
        )
    ).all()
    for delivery_id, recipient in escalated:
        match = ESCALATION_SUFFIX.match(recipient)
        if match is None:
            continue
        person = match["person"]
        connection.execute(
            deliveries.update()
            .where(deliveries.c.id == delivery_id)
            .values(
                recipient=person,
                recipient_kind="on_call" if person in ON_CALL else "person",
                escalation_level=int(match["level"]),
            )
        )
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.create_unique_constraint(
            NEW_KEY, ["notification_id", "recipient", "channel", "escalation_level"]
        )
    with op.batch_alter_table("client_care") as batch_op:
        batch_op.create_index("ix_client_care_case_manager_id", ["case_manager_id"], unique=False)
        batch_op.create_index("ix_client_care_supervisor_id", ["supervisor_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("client_care") as batch_op:
        batch_op.drop_index("ix_client_care_supervisor_id")
        batch_op.drop_index("ix_client_care_case_manager_id")
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.drop_constraint(NEW_KEY, type_="unique")
    connection = op.get_bind()
    reminders = connection.execute(
        sa.select(deliveries.c.id, deliveries.c.recipient, deliveries.c.escalation_level).where(
            deliveries.c.escalation_level > 0
        )
    ).all()
    for delivery_id, recipient, level in reminders:
        connection.execute(
            deliveries.update()
            .where(deliveries.c.id == delivery_id)
            .values(recipient=f"{recipient}#escalation{level}")
        )
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.create_unique_constraint(OLD_KEY, ["notification_id", "recipient", "channel"])
        batch_op.drop_column("escalation_level")
        batch_op.drop_column("recipient_kind")
