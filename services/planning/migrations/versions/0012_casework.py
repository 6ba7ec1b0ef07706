"""Casework in planning: contacts with signed DAP notes and addenda, appointments, tasks made
once from events, the consent expiries they watch, and each case manager's calendar feed.

Revision ID: planning_0007_casework
Revises: planning_0011_erasures
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "planning_0007_casework"
down_revision: str | None = "planning_0011_erasures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "appointments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("client_reference", sa.String(length=20), nullable=False),
        sa.Column("episode_id", sa.String(length=36), nullable=False),
        sa.Column("case_manager_id", sa.String(length=128), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("video_link", sa.String(length=500), nullable=True),
        sa.Column("with_whom", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.String(length=500), nullable=True),
        sa.Column("contact_id", sa.String(length=36), nullable=True),
        sa.Column("rescheduled_to_id", sa.String(length=36), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    with op.batch_alter_table("appointments") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_appointments_case_manager_id"), ["case_manager_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_appointments_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_appointments_episode_id"), ["episode_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_appointments_starts_at"), ["starts_at"], unique=False)

    op.create_table(
        "calendar_feeds",
        sa.Column("case_manager_id", sa.String(length=128), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_manager_id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_calendar_feeds_secret_hash")),
    )
    op.create_table(
        "consent_expiries",
        sa.Column("consent_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=100), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("consent_id", name=op.f("pk_consent_expiries")),
    )
    with op.batch_alter_table("consent_expiries") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_expiries_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_consent_expiries_expires_on"), ["expires_on"], unique=False
        )

    op.create_table(
        "contacts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("client_reference", sa.String(length=20), nullable=False),
        sa.Column("episode_id", sa.String(length=36), nullable=False),
        sa.Column("case_manager_id", sa.String(length=128), nullable=False),
        sa.Column("contact_type", sa.String(length=20), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("participants", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("goal_ids", sa.JSON(), nullable=False),
        sa.Column("appointment_id", sa.String(length=36), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=128), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_by", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contacts_case_manager_id"), ["case_manager_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_contacts_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contacts_episode_id"), ["episode_id"], unique=False)

    op.create_table(
        "tasks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.Column("owner_id", sa.String(length=128), nullable=True),
        sa.Column("client_id", sa.String(length=36), nullable=True),
        sa.Column("client_reference", sa.String(length=20), nullable=True),
        sa.Column("episode_id", sa.String(length=36), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=128), nullable=True),
        sa.Column("close_reason", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("source_key", name=op.f("uq_tasks_source_key")),
    )
    with op.batch_alter_table("tasks") as batch_op:
        batch_op.create_index(batch_op.f("ix_tasks_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_due_on"), ["due_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "contact_addenda",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("contact_id", sa.String(length=36), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("written_by", sa.String(length=128), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_contact_addenda_contact_id_contacts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_addenda")),
    )
    with op.batch_alter_table("contact_addenda") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_addenda_contact_id"), ["contact_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("contact_addenda") as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_addenda_contact_id"))

    op.drop_table("contact_addenda")
    with op.batch_alter_table("tasks") as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_owner_id"))
        batch_op.drop_index(batch_op.f("ix_tasks_due_on"))
        batch_op.drop_index(batch_op.f("ix_tasks_client_id"))

    op.drop_table("tasks")
    with op.batch_alter_table("contacts") as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_episode_id"))
        batch_op.drop_index(batch_op.f("ix_contacts_client_id"))
        batch_op.drop_index(batch_op.f("ix_contacts_case_manager_id"))

    op.drop_table("contacts")
    with op.batch_alter_table("consent_expiries") as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_expiries_expires_on"))
        batch_op.drop_index(batch_op.f("ix_consent_expiries_client_id"))

    op.drop_table("consent_expiries")
    op.drop_table("calendar_feeds")
    with op.batch_alter_table("appointments") as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointments_starts_at"))
        batch_op.drop_index(batch_op.f("ix_appointments_episode_id"))
        batch_op.drop_index(batch_op.f("ix_appointments_client_id"))
        batch_op.drop_index(batch_op.f("ix_appointments_case_manager_id"))

    op.drop_table("appointments")
