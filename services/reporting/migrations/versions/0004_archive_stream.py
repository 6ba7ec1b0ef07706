"""The event archive moves out of reporting's database into the platform's archive (a RabbitMQ
stream, a folder on the embedded default); reporting keeps only where its last rebuild stands.

Revision ID: reporting_0004_archive_stream
Revises: reporting_0003_audit_chain
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "reporting_0004_archive_stream"
down_revision = "reporting_0003_audit_chain"
branch_labels = None
depends_on = None

POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "archive_replay",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_mark", sa.String(length=64), nullable=False),
        sa.Column("last_offset", POSITION, nullable=True),
        sa.Column("replayed", sa.Integer(), nullable=False),
        sa.Column("already_handled", sa.Integer(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_replay")),
    )
    with op.batch_alter_table("archived_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_archived_events_event_type"))
    op.drop_table("archived_events")


def downgrade() -> None:
    op.create_table(
        "archived_events",
        sa.Column("position", POSITION, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=200), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_archived_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_archived_events_event_id")),
    )
    with op.batch_alter_table("archived_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_archived_events_event_type"), ["event_type"], unique=False
        )
    op.drop_table("archive_replay")
