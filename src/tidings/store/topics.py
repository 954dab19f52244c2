"""Topics: the enrichment's topic index (article_topics) and the publisher tags that name an IPTC topic."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Connection, func, select

from tidings.store.tables import article_topics, articles
from tidings.vocabulary import fold, same_topic, split_tags, topic_key, with_parent_names

RECENT_SCAN = 3000  # how many of the newest articles' publisher tags are read for topics


def popular_topics(conn: Connection, limit: int = 24) -> list[tuple[str, int]]:
    """The most common topics, one entry per key (case and synonym variants merged); tags are not topics."""
    counts: Counter[str] = Counter()
    names: dict[str, str] = {}
    for topic, n in conn.execute(
        select(article_topics.c.topic, func.count())
        .group_by(article_topics.c.topic)
        .order_by(func.count().desc())
        .limit(limit * 4)
    ):
        key = topic_key(str(topic))
        names.setdefault(fold(key), key)
        counts[fold(key)] += int(n)
    recent = conn.execute(
        select(articles.c.tags).order_by(articles.c.sort_time.desc()).limit(RECENT_SCAN)
    ).scalars()
    for tags in recent:  # tags that name an IPTC topic are that topic; the others are not offered
        for key in split_tags([str(t) for t in tags or []])[0]:
            names.setdefault(fold(key), key)
            counts[fold(key)] += 1
    return [(names[k], n) for k, n in counts.most_common(limit)]


def topic_article_ids(conn: Connection, topic: str, limit: int = 50, offset: int = 0) -> list[int]:
    """Newest articles on a topic: the enrichment index, plus publisher tags among recent articles."""
    limit, want = limit + offset, (offset, limit + offset)
    ids = [
        int(i)
        for i in conn.execute(
            select(articles.c.id)
            .join(article_topics, article_topics.c.article_id == articles.c.id)
            .where(
                func.lower(article_topics.c.topic) == topic_key(topic).lower(),
                articles.c.duplicate_of.is_(None),
            )
            .order_by(articles.c.sort_time.desc())
            .limit(limit)
        ).scalars()
    ]
    wanted = fold(topic)
    recent = conn.execute(
        select(articles.c.id, articles.c.tags)
        .where(articles.c.duplicate_of.is_(None))
        .order_by(articles.c.sort_time.desc())
        .limit(RECENT_SCAN)
    )
    tagged = [
        int(i)
        for i, tags in recent
        if any(same_topic(t, wanted) for t in with_parent_names([str(t) for t in tags or []]))
    ]
    return list(dict.fromkeys([*ids, *tagged]))[want[0] : want[1]]
