"""Break-the-glass emergency access: the grants, each time-limited.

Revision ID: intake_0007_crisis_access
Revises: intake_0007_name_search
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

from shared.db import service_metadata
from shared.emergency_access import EmergencyGrants

revision: str = "intake_0007_crisis_access"
down_revision: str | None = "intake_0007_name_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    EmergencyGrants(service_metadata()).table.create(op.get_bind())


def downgrade() -> None:
    EmergencyGrants(service_metadata()).table.drop(op.get_bind())
