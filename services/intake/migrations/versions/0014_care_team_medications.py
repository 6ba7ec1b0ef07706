"""The client's care team and the medications they report.

Revision ID: intake_0008_casework
Revises: intake_0007_casework
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_0008_casework"
down_revision: str | None = "intake_0007_casework"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('care_professionals',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('organisation', sa.String(length=200), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('added_by', sa.String(length=128), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_care_professionals_client_id_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_professionals'))
    )
    with op.batch_alter_table('care_professionals') as batch_op:
        batch_op.create_index(batch_op.f('ix_care_professionals_client_id'), ['client_id'], unique=False)

    op.create_table('reported_medications',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('dose', sa.String(length=100), nullable=True),
    sa.Column('prescriber', sa.String(length=200), nullable=True),
    sa.Column('started_on', sa.Date(), nullable=True),
    sa.Column('stopped_on', sa.Date(), nullable=True),
    sa.Column('recorded_by', sa.String(length=128), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_reported_medications_client_id_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reported_medications'))
    )
    with op.batch_alter_table('reported_medications') as batch_op:
        batch_op.create_index(batch_op.f('ix_reported_medications_client_id'), ['client_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('reported_medications') as batch_op:
        batch_op.drop_index(batch_op.f('ix_reported_medications_client_id'))

    op.drop_table('reported_medications')
    with op.batch_alter_table('care_professionals') as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_professionals_client_id'))

    op.drop_table('care_professionals')
