"""Indexes the figures' queries look rows up by: the period columns, an episode's assignments
and scores in time order, a client's episodes and acknowledgements in time order, superseded
assessments and the programme.

Revision ID: reporting_0005_figure_indexes
Revises: reporting_0005_audit_lanes
Create Date: 2026-11-30
"""

from alembic import op

revision = "reporting_0005_figure_indexes"
down_revision = "reporting_0005_audit_lanes"
branch_labels = None
depends_on = None

#: (table, index name, columns)
INDEXES = (
    ("episodes", "ix_episodes_programme", ["programme"]),
    ("episodes", "ix_episodes_client_registered", ["client_id", "registered_at"]),
    ("assignments", "ix_assignments_episode_time", ["episode_id", "assigned_at"]),
    ("scores", "ix_scores_supersedes_assessment_id", ["supersedes_assessment_id"]),
    ("scores", "ix_scores_series", ["episode_id", "instrument", "taken_at"]),
    ("reviews", "ix_reviews_due_on", ["due_on"]),
    ("referrals", "ix_referrals_sent_at", ["sent_at"]),
    ("crisis_alerts", "ix_crisis_alerts_flagged_at", ["flagged_at"]),
    ("acknowledgements", "ix_acknowledgements_client_time", ["client_id", "acknowledged_at"]),
)


def upgrade() -> None:
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for table, name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
