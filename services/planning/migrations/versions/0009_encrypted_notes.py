"""Free-text clinical fields encrypted at rest (``shared.crypto``): plan versions (goals in the
client's words and the safety plan) and progress notes.

Revision ID: planning_0009_encrypted_notes
Revises: planning_0008_audit_chain
Create Date: 2026-11-30
"""

from shared.migrations import decrypt_column, encrypt_column

revision = "planning_0009_encrypted_notes"
down_revision = "planning_0008_audit_chain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    encrypt_column("plan_versions", "id", "content", was_json=True)
    encrypt_column("progress_notes", "id", "note")


def downgrade() -> None:
    decrypt_column("progress_notes", "id", "note")
    decrypt_column("plan_versions", "id", "content", to_json=True)
