"""stored tsvector column for full-text search on PostgreSQL

PostgreSQL only (SQLite keeps its FTS5 table): a generated, stored `articles.search_vector` with a GIN index
replaces the GIN expression index of 0001. Ranking with ts_rank then reads the stored vector instead of
re-parsing every matching article's text, which bounds the cost of a query that matches most of the store.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Must match search.PG_DOCUMENT (the query side builds the same tsquery configuration).
_DOCUMENT = "to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(text, ''))"


def upgrade() -> None:
    """Add the stored search vector and its GIN index; drop the expression index it replaces."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"ALTER TABLE articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({_DOCUMENT}) STORED"
    )
    op.execute("CREATE INDEX ix_articles_search_vector ON articles USING gin (search_vector)")
    op.execute("DROP INDEX IF EXISTS ix_articles_search")


def downgrade() -> None:
    """Back to 0001's GIN expression index."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"CREATE INDEX ix_articles_search ON articles USING gin ({_DOCUMENT})")
    op.execute("DROP INDEX IF EXISTS ix_articles_search_vector")
    op.execute("ALTER TABLE articles DROP COLUMN search_vector")
