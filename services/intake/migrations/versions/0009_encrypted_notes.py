"""Free-text clinical fields encrypted at rest (``shared.crypto``): the advance statement, the
assessment's domains with their notes, and risk-flag resolution notes.

Revision ID: intake_0009_encrypted_notes
Revises: intake_0008_audit_chain
Create Date: 2026-11-30
"""

from shared.migrations import decrypt_column, encrypt_column

revision = "intake_0009_encrypted_notes"
down_revision = "intake_0008_audit_chain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    encrypt_column("clients", "id", "advance_statement")
    encrypt_column("assessments", "id", "domains", was_json=True)
    encrypt_column("risk_flags", "id", "resolution_note")


def downgrade() -> None:
    decrypt_column("risk_flags", "id", "resolution_note")
    decrypt_column("assessments", "id", "domains", to_json=True)
    decrypt_column("clients", "id", "advance_statement")
