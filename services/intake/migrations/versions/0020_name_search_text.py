"""Client search by name in one trigram index, on the text the search matches (given name, family
name and person key, joined by ``|``), instead of three: one condition, so the planner's estimate of
how many clients match is not the sum of three overlapping ones, and with a finer histogram of that
text (statistics target 2000), so it walks the reference index only for common fragments and takes
the few matches of a rare name from the index. Registration keeps one trigram index up to date,
not three. PostgreSQL only (SQLite, the embedded default, scans).

Revision ID: intake_0020_name_search_text
Revises: intake_0019_audit_lanes
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "intake_0020_name_search_text"
down_revision: str | None = "intake_0019_audit_lanes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The expression ``services.intake.operations.clients.NAME_SEARCH_TEXT`` renders (the planner
#: matches the index by expression, so the two must stay the same).
NAME_SEARCH_TEXT = "lower(given_name) || '|' || lower(family_name) || '|' || person_key"
#: Histogram and most-common-values entries kept for it: a match estimated to within 1/2000 of
#: the clients rather than 1/100 (at 500,000 clients a rare name matches about 170).
STATISTICS = 2000
#: The three indexes of intake_0007_name_search it replaces, and what each covered.
FORMER = {
    "ix_clients_given_name_trgm": "lower(given_name)",
    "ix_clients_family_name_trgm": "lower(family_name)",
    "ix_clients_person_key_trgm": "person_key",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_clients_name_search_trgm ON clients "
        f"USING gin (({NAME_SEARCH_TEXT}) gin_trgm_ops)"
    )
    op.execute(
        f"ALTER INDEX ix_clients_name_search_trgm ALTER COLUMN 1 SET STATISTICS {STATISTICS}"
    )
    for name in FORMER:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    # An expression index has no statistics until the table is analysed, and nothing else would
    # analyse a table that is not changing: without them every estimate is a default guess. After
    # a commit: in the transaction that set it, ANALYZE does not yet see the index's new target.
    with op.get_context().autocommit_block():
        op.execute("ANALYZE clients")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, expression in FORMER.items():
        op.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON clients USING gin ({expression} gin_trgm_ops)"
        )
    op.execute("DROP INDEX IF EXISTS ix_clients_name_search_trgm")
    op.execute("ANALYZE clients")
