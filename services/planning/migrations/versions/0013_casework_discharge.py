"""Discharge in planning: the summary, the former carers' continuity access and the episode's
first and latest scores.

Revision ID: planning_0008_casework
Revises: planning_0007_casework
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "planning_0008_casework"
down_revision: str | None = "planning_0007_casework"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('discharge_summaries',
    sa.Column('episode_id', sa.String(length=36), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('client_reference', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('services_received', sa.JSON(), nullable=False),
    sa.Column('follow_up', sa.Text(), nullable=True),
    sa.Column('told', sa.JSON(), nullable=False),
    sa.Column('discharged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('written_by', sa.String(length=128), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('episode_id', name=op.f('pk_discharge_summaries'))
    )
    with op.batch_alter_table('discharge_summaries') as batch_op:
        batch_op.create_index(batch_op.f('ix_discharge_summaries_client_id'), ['client_id'], unique=False)

    op.create_table('episode_scores',
    sa.Column('episode_id', sa.String(length=36), nullable=False),
    sa.Column('phq9_start', sa.Integer(), nullable=True),
    sa.Column('phq9_end', sa.Integer(), nullable=True),
    sa.Column('gad7_start', sa.Integer(), nullable=True),
    sa.Column('gad7_end', sa.Integer(), nullable=True),
    sa.Column('first_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('latest_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('episode_id', name=op.f('pk_episode_scores'))
    )
    op.create_table('former_carers',
    sa.Column('episode_id', sa.String(length=36), nullable=False),
    sa.Column('carer_id', sa.String(length=128), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('episode_id', 'carer_id', name=op.f('pk_former_carers'))
    )
    with op.batch_alter_table('former_carers') as batch_op:
        batch_op.create_index(batch_op.f('ix_former_carers_client_id'), ['client_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('former_carers') as batch_op:
        batch_op.drop_index(batch_op.f('ix_former_carers_client_id'))

    op.drop_table('former_carers')
    op.drop_table('episode_scores')
    with op.batch_alter_table('discharge_summaries') as batch_op:
        batch_op.drop_index(batch_op.f('ix_discharge_summaries_client_id'))

    op.drop_table('discharge_summaries')
