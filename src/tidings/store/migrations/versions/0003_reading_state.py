"""one per-user article state: hidden, liked and the time of each change; backfilled from events;
a per-user subscription title; feed-less articles grouped under one "page" source per publisher

Revision ID: 0003
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Event kind -> (flag column, value, time column): the state each past event implies.
BACKFILL = {
    "click": ("is_read", True, "read_at"),
    "read": ("is_read", True, "read_at"),
    "save": ("is_starred", True, "starred_at"),
    "hide": ("is_hidden", True, "hidden_at"),
    "like": ("liked", 1, "liked_at"),
    "dislike": ("liked", -1, "liked_at"),
}


def upgrade() -> None:
    """Add the columns, then derive the state of past web events so that nothing read so far is lost."""
    with op.batch_alter_table("read_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_hidden", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("liked", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("read_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("starred_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("liked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_read_state_article", ["article_id"], unique=False)
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("icon", sa.Text(), nullable=True))
    backfill(op.get_bind())
    group_publishers(op.get_bind())


def backfill(conn: sa.Connection) -> None:
    """Fold the events table into read_state (the newest event of each kind wins)."""
    meta = sa.MetaData()
    state = sa.Table("read_state", meta, autoload_with=conn)
    events = sa.Table("events", meta, autoload_with=conn)
    articles = sa.Table("articles", meta, autoload_with=conn)
    rows = conn.execute(
        sa.select(events.c.user_id, events.c.article_id, events.c.kind, sa.func.max(events.c.created_at))
        .join(articles, articles.c.id == events.c.article_id)
        .where(events.c.kind.in_(list(BACKFILL)))
        .group_by(events.c.user_id, events.c.article_id, events.c.kind)
        .order_by(sa.func.max(events.c.created_at))
    ).all()
    for user_id, article_id, kind, when in rows:
        flag, value, at = BACKFILL[kind]
        key = (state.c.user_id == user_id) & (state.c.article_id == article_id)
        if conn.execute(sa.select(state.c.user_id).where(key)).first() is None:
            conn.execute(
                sa.insert(state).values(
                    user_id=user_id,
                    article_id=article_id,
                    is_read=False,
                    is_starred=False,
                    is_hidden=False,
                    liked=0,
                    updated_at=when,
                )
            )
        conn.execute(sa.update(state).where(key).values({flag: value, at: when, "updated_at": when}))


def group_publishers(conn: sa.Connection) -> None:
    """Give articles that came from no feed a "page" source per publisher (as ingest now does)."""
    from urllib.parse import urlsplit

    meta = sa.MetaData()
    sources = sa.Table("sources", meta, autoload_with=conn)
    articles = sa.Table("articles", meta, autoload_with=conn)
    names = conn.execute(
        sa.select(articles.c.source, sa.func.min(articles.c.url))
        .where(articles.c.source_id.is_(None))
        .group_by(articles.c.source)
    ).all()
    for name, url in names:
        label = (name or "").strip() or "unknown"
        key = "tidings:publisher:" + " ".join(label.split()).casefold()[:500]
        found = conn.execute(sa.select(sources.c.id).where(sources.c.url == key)).scalar()
        if found is None:
            parts = urlsplit(url or "")
            site = f"{parts.scheme}://{parts.netloc}/" if parts.scheme in ("http", "https") else None
            found = conn.execute(
                sa.insert(sources).values(
                    url=key,
                    kind="page",
                    title=label,
                    category="Other sources",
                    site_url=site,
                    consecutive_failures=0,
                    article_count=0,
                    created_at=sa.func.now(),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        same = articles.c.source.is_(None) if name is None else articles.c.source == name
        conn.execute(sa.update(articles).where(articles.c.source_id.is_(None), same).values(source_id=found))


def downgrade() -> None:
    """Drop the added columns."""
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("icon")
    with op.batch_alter_table("read_state", schema=None) as batch_op:
        batch_op.drop_index("ix_read_state_article")
        for name in ("liked_at", "hidden_at", "starred_at", "read_at", "liked", "is_hidden"):
            batch_op.drop_column(name)
