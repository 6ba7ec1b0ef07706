"""Outbox and inbox of the notifications service.

Revision ID: notifications_0001
Revises:
Create Date: 2026-11-23
"""

from shared.migrations import create_messaging_tables, drop_messaging_tables

revision = "notifications_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables()


def downgrade() -> None:
    drop_messaging_tables()
