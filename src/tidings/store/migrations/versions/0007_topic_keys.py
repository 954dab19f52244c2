"""one key per topic: re-key stored topics, follows and mutes

Topics become IPTC top levels under one canonical key ("politics", "Politics and conflicts" -> "Politics")
plus named topics from entities; other publisher tags stop being topics (they stay in articles.tags).
Data only: no schema change. `tidings enrich --pending` re-runs the topic enricher as well (its version
changed), which gives the same keys with the classifier's current output.

Revision ID: 0007
Revises: 0001
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from tidings.vocabulary import fold, iptc_topic, topic_key

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None

_META = sa.MetaData()
_ENRICHMENTS = sa.Table(
    "enrichments",
    _META,
    sa.Column("article_id", sa.Integer, primary_key=True),
    sa.Column("entities", sa.JSON),
    sa.Column("topics", sa.JSON),
    sa.Column("iptc_topic", sa.Text),
)
_TOPICS = sa.Table(
    "article_topics", _META, sa.Column("article_id", sa.Integer), sa.Column("topic", sa.String(255))
)
_TARGETS = [
    sa.Table(
        name,
        _META,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer),
        sa.Column("kind", sa.String(16)),
        sa.Column("value", sa.String(512)),
    )
    for name in ("follows", "mutes")
]


def rekeyed(topics: list[Any], entities: list[Any]) -> list[str]:
    """An article's topics under their keys, keeping IPTC levels and entity names, dropping other tags."""
    names = {fold(str(e.get("name", ""))) for e in entities if isinstance(e, dict)}
    keys: dict[str, str] = {}
    for topic in topics:
        if iptc_topic(str(topic)) or fold(str(topic)) in names:
            key = topic_key(str(topic))
            keys.setdefault(fold(key), key)
    return list(keys.values())


def upgrade() -> None:
    """Re-key every enrichment's topics, the topic index, and topic follows and mutes."""
    conn = op.get_bind()
    for row in conn.execute(sa.select(_ENRICHMENTS)).mappings().all():
        topics = rekeyed(list(row["topics"] or []), list(row["entities"] or []))
        iptc = topic_key(row["iptc_topic"]) if row["iptc_topic"] else None
        conn.execute(
            _ENRICHMENTS.update()
            .where(_ENRICHMENTS.c.article_id == row["article_id"])
            .values(topics=topics, iptc_topic=iptc)
        )
        conn.execute(_TOPICS.delete().where(_TOPICS.c.article_id == row["article_id"]))
        if topics:
            conn.execute(_TOPICS.insert(), [{"article_id": row["article_id"], "topic": t} for t in topics])
    for table in _TARGETS:
        groups: dict[tuple[int, str], list[Any]] = {}
        rows = conn.execute(sa.select(table).where(table.c.kind == "topic").order_by(table.c.id)).mappings()
        for row in rows.all():
            groups.setdefault((row["user_id"], fold(topic_key(row["value"]))), []).append(row)
        for group in groups.values():
            key = topic_key(group[0]["value"])
            # Keep the row already under the key (else the oldest); the others are duplicates now.
            keep = next((r for r in group if r["value"] == key), group[0])
            doomed = [r["id"] for r in group if r is not keep]
            if doomed:
                conn.execute(table.delete().where(table.c.id.in_(doomed)))
            if keep["value"] != key:
                conn.execute(table.update().where(table.c.id == keep["id"]).values(value=key))


def downgrade() -> None:
    """Nothing to undo: the old keys were variants of the new ones."""
