"""Migration 0007 re-keys stored topics, the topic index, and topic follows and mutes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, insert, select

from tidings.store.engine import alembic_config
from tidings.store.tables import article_topics, articles, enrichments, follows, users


def test_upgrade_rekeys_topics_and_follows(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = alembic_config(str(engine.url))
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.commit()
    now = datetime(2024, 1, 1, tzinfo=UTC)
    old_topics = ["politics", "North Korea", "Politics and conflicts", "English", "Weblog"]
    with engine.begin() as conn:
        conn.execute(insert(users).values(id=1, name="ann", created_at=now, onboarded=True))
        conn.execute(
            insert(articles).values(id=1, title="t", content_hash="h", ingested_at=now, sort_time=now)
        )
        conn.execute(
            insert(enrichments).values(
                article_id=1,
                topics=old_topics,
                iptc_topic="politics",
                entities=[{"name": "North Korea", "type": "GPE", "count": 3, "key": "place:north-korea"}],
                updated_at=now,
            )
        )
        conn.execute(insert(article_topics), [{"article_id": 1, "topic": t} for t in old_topics])
        for n, value in enumerate(["politics", "Politics", "Economics & Business"]):
            conn.execute(
                insert(follows).values(user_id=1, kind="topic", value=value, created_at=now, id=n + 1)
            )
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007")
        conn.commit()
    with engine.connect() as conn:
        row = conn.execute(select(enrichments.c.topics, enrichments.c.iptc_topic)).one()
        indexed = sorted(conn.execute(select(article_topics.c.topic)).scalars())
        followed = sorted(conn.execute(select(follows.c.value)).scalars())
    assert row.topics == ["Politics", "North Korea"] and row.iptc_topic == "Politics"
    assert indexed == ["North Korea", "Politics"]
    assert followed == ["Business", "Politics"]


def test_onboarding_topics_have_no_case_duplicates_and_no_tags(tmp_path: Path) -> None:
    from tidings.store.engine import make_engine, migrate
    from tidings.store.topics import popular_topics

    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    now = datetime(2024, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        for n, (topics, tags) in enumerate(
            [
                (["politics", "North Korea"], ["English", "Weblog"]),
                (["Politics"], ["Politics and conflicts"]),
                (["north korea"], ["Economics & Business", "Updates"]),
            ]
        ):
            values = {"id": n + 1, "title": "t", "content_hash": str(n), "ingested_at": now, "sort_time": now}
            conn.execute(insert(articles).values(**values, tags=tags))
            conn.execute(insert(article_topics), [{"article_id": n + 1, "topic": t} for t in topics])
    with engine.connect() as conn:
        offered = dict(popular_topics(conn))
    assert offered == {"Politics": 3, "North Korea": 2, "Business": 1}
