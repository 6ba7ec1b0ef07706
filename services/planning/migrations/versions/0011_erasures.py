"""Retention: the clients this service erased (a replayed announcement erases nothing twice).

Revision ID: planning_0011_erasures
Revises: planning_0010_crisis_episodes
Create Date: 2026-11-30
"""

from alembic import op

from shared.db import service_metadata
from shared.retention import Erasures

revision = "planning_0011_erasures"
down_revision = "planning_0010_crisis_episodes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    Erasures(service_metadata()).table.create(op.get_bind())


def downgrade() -> None:
    Erasures(service_metadata()).table.drop(op.get_bind())
