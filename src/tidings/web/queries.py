"""Store reads the pages need that the store layer lacks: cards, topics, story reads, search filters, mix."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from tidings.store.articles import topics_of_row
from tidings.store.search import SearchFilters, Sort, search
from tidings.store.tables import article_entities, article_topics, articles, enrichments, events, story_reads
from tidings.store.util import as_utc, utcnow
from tidings.vocabulary import fold, same_topic, split_tags, topic_key, with_parent_names

RECENT_SCAN = 3000
READING_KINDS = ("click", "read", "like", "save")
MIX_DAYS = 30


def topics_of(row: dict[str, Any]) -> list[str]:
    """An article's topic keys: the enrichment's, else the IPTC topics its publisher's tags name."""
    return topics_of_row(row)


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


def popular_sources(conn: Connection, limit: int = 24) -> list[tuple[str, int]]:
    """Publisher names by how many articles they have."""
    rows = conn.execute(
        select(articles.c.source, func.count())
        .where(articles.c.source.is_not(None))
        .group_by(articles.c.source)
        .order_by(func.count().desc())
        .limit(limit)
    )
    return [(str(s), int(n)) for s, n in rows]


def card_details(conn: Connection, article_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Article id -> what a card shows beyond the ranking: time, standfirst, key points, topics, source."""
    if not article_ids:
        return {}
    rows = conn.execute(
        select(
            articles.c.id,
            articles.c.sort_time,
            articles.c.published_at,
            articles.c.standfirst,
            articles.c.source,
            articles.c.tags,
            articles.c.story_id,
            articles.c.lead_image,
            articles.c.meta,
            enrichments.c.key_points,
            enrichments.c.topics,
        )
        .select_from(articles.outerjoin(enrichments, enrichments.c.article_id == articles.c.id))
        .where(articles.c.id.in_(article_ids))
    ).mappings()
    return {
        int(r["id"]): {**dict(r), "sort_time": as_utc(r["sort_time"]), "topics": topics_of(dict(r))}
        for r in rows
    }


def story_sources(conn: Connection, story_ids: list[int]) -> dict[int, list[str]]:
    """Story id -> its distinct sources, oldest article first."""
    if not story_ids:
        return {}
    out: dict[int, list[str]] = {}
    rows = conn.execute(
        select(articles.c.story_id, articles.c.source)
        .where(articles.c.story_id.in_(story_ids))
        .order_by(articles.c.sort_time, articles.c.id)
    )
    for story_id, source in rows:
        names = out.setdefault(int(story_id), [])
        if source and source not in names:
            names.append(source)
    return out


def read_story(conn: Connection, user_id: int, story_id: int, article_ids: list[int]) -> set[int] | None:
    """Mark a story as seen now; returns the article ids seen on the previous visit (None: first visit)."""
    row = (
        conn.execute(
            select(story_reads).where(story_reads.c.user_id == user_id, story_reads.c.story_id == story_id)
        )
        .mappings()
        .first()
    )
    conn.execute(
        delete(story_reads).where(story_reads.c.user_id == user_id, story_reads.c.story_id == story_id)
    )
    conn.execute(
        insert(story_reads).values(
            user_id=user_id, story_id=story_id, last_seen_at=utcnow(), seen_article_ids=article_ids
        )
    )
    return {int(i) for i in (row["seen_article_ids"] or [])} if row else None


def article_rows(conn: Connection, ids: list[int]) -> list[dict[str, Any]]:
    """List rows (id, title, source, time, standfirst, tags, topics) for ids, in the given order."""
    if not ids:
        return []
    rows = conn.execute(
        select(
            articles.c.id,
            articles.c.title,
            articles.c.source,
            articles.c.sort_time,
            articles.c.published_at,
            articles.c.standfirst,
            articles.c.tags,
            articles.c.story_id,
            enrichments.c.topics,
        )
        .select_from(articles.outerjoin(enrichments, enrichments.c.article_id == articles.c.id))
        .where(articles.c.id.in_(ids))
    ).mappings()
    by_id = {int(r["id"]): {**dict(r), "sort_time": as_utc(r["sort_time"])} for r in rows}
    return [by_id[i] for i in ids if i in by_id]


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


def entity_name(conn: Connection, key: str) -> str | None:
    """The most common display name of an entity key, or None when unknown."""
    row = conn.execute(
        select(article_entities.c.name, func.count())
        .where(article_entities.c.entity_key == key)
        .group_by(article_entities.c.name)
        .order_by(func.count().desc())
        .limit(1)
    ).first()
    return str(row[0]) if row else None


def entity_article_ids(conn: Connection, key: str, limit: int = 50, offset: int = 0) -> list[int]:
    """Newest articles mentioning an entity."""
    return [
        int(i)
        for i in conn.execute(
            select(articles.c.id)
            .join(article_entities, article_entities.c.article_id == articles.c.id)
            .where(article_entities.c.entity_key == key, articles.c.duplicate_of.is_(None))
            .order_by(articles.c.sort_time.desc())
            .limit(limit)
            .offset(offset)
        ).scalars()
    ]


def search_rows(
    conn: Connection, query: str, filters: SearchFilters, sort: Sort, limit: int, offset: int
) -> list[dict[str, Any]]:
    """One page of search hits (or, without words, of filtered browsing) as listing rows with their score."""
    hits = search(conn, query, filters, sort, limit, offset)
    rows = {r["id"]: r for r in article_rows(conn, [int(h["article_id"]) for h in hits])}
    return [{**rows[int(h["article_id"])], "score": h["score"]} for h in hits if int(h["article_id"]) in rows]


def reading_mix(conn: Connection, user_id: int, days: int = MIX_DAYS, top: int = 6) -> dict[str, Any]:
    """Shares of the reader's reading (click/read/like/save) by topic and by source over recent days."""
    since = utcnow() - timedelta(days=days)
    ids = [
        int(i)
        for i in conn.execute(
            select(events.c.article_id).where(
                events.c.user_id == user_id,
                events.c.kind.in_(READING_KINDS),
                events.c.created_at >= since,
                events.c.article_id.is_not(None),
            )
        ).scalars()
    ]
    rows = {r["id"]: r for r in article_rows(conn, list(dict.fromkeys(ids)))}
    topics: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    for aid in ids:
        row = rows.get(aid)
        if row is None:
            continue
        sources[row.get("source") or "unknown"] += 1
        topics.update(topics_of(row)[:1] or ["(no topic)"])
    return {"events": len(ids), "days": days, "topics": shares(topics, top), "sources": shares(sources, top)}


def shares(counts: Counter[str], top: int) -> list[dict[str, Any]]:
    """The top entries of a counter as {"name", "count", "share"}, the rest folded into "Other"."""
    total = sum(counts.values())
    if not total:
        return []
    head = counts.most_common(top)
    rest = total - sum(n for _, n in head)
    if rest:
        head.append(("Other", rest))
    return [{"name": name, "count": n, "share": n / total} for name, n in head]
