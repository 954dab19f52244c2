"""Story rows: the serialised story state, its headline and aggregates, a global revision counter, and
each reader's last visit to a story (story_reads)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, func, insert, select, update

from tidings.store import articles as article_repo
from tidings.store.tables import articles, enrichments, stories, story_reads
from tidings.store.util import as_utc, iso, utcnow


def next_revision(conn: Connection) -> int:
    """The next value of the story revision counter (callers hold the write lock)."""
    return int(conn.execute(select(func.coalesce(func.max(stories.c.revision), 0))).scalar_one()) + 1


def insert_story(conn: Connection) -> int:
    """Create an empty story row and return its id."""
    result = conn.execute(
        insert(stories).values(
            title="", size=0, source_count=0, revision=next_revision(conn), created_at=utcnow()
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def save_story(
    conn: Connection,
    story_id: int,
    *,
    title: str,
    size: int,
    source_count: int,
    first_seen: datetime | None,
    last_updated: datetime | None,
    centroid: bytes | None,
    state: str,
) -> None:
    """Write a story's state and aggregates, bumping its revision."""
    conn.execute(
        update(stories)
        .where(stories.c.id == story_id)
        .values(
            title=title,
            size=size,
            source_count=source_count,
            first_seen=first_seen,
            last_updated=last_updated,
            centroid=centroid,
            state=state,
            revision=next_revision(conn),
        )
    )


def member_ids(conn: Connection, story_id: int) -> list[int]:
    """Ids of a story's stored articles, in id order."""
    query = select(articles.c.id).where(articles.c.story_id == story_id).order_by(articles.c.id)
    return [int(r[0]) for r in conn.execute(query)]


def move_articles(conn: Connection, article_ids: list[int], story_id: int) -> None:
    """Put articles into another story (a split's new part)."""
    conn.execute(update(articles).where(articles.c.id.in_(article_ids)).values(story_id=story_id))


def timeline_rows(conn: Connection, story_id: int) -> list[RowMapping]:
    """A story's articles in time order, each with its key points (id, title, source, sort_time, url,
    duplicate_of, key_points)."""
    query = (
        article_repo.with_enrichment(
            articles.c.id,
            articles.c.title,
            articles.c.source,
            articles.c.sort_time,
            articles.c.url,
            articles.c.duplicate_of,
            enrichments.c.key_points,
        )
        .where(articles.c.story_id == story_id)
        .order_by(articles.c.sort_time, articles.c.id)
    )
    return list(conn.execute(query).mappings().all())


def stories_since(conn: Connection, revision: int) -> list[dict[str, Any]]:
    """Stories changed after a revision (id, state, revision, size)."""
    rows = conn.execute(
        select(stories.c.id, stories.c.state, stories.c.revision, stories.c.size)
        .where(stories.c.revision > revision)
        .order_by(stories.c.revision)
    ).mappings()
    return [dict(r) for r in rows]


def list_stories(conn: Connection, limit: int = 20, offset: int = 0) -> list[dict[str, Any]]:
    """Stories with at least one article, newest activity first, in the contract's shape."""
    rows = (
        conn.execute(
            select(stories)
            .where(stories.c.size > 0)
            .order_by(stories.c.last_updated.desc(), stories.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        .mappings()
        .all()
    )
    return [story_summary(conn, dict(r)) for r in rows]


def get_story(conn: Connection, story_id: int) -> dict[str, Any] | None:
    """One story in the contract's shape, or None."""
    row = conn.execute(select(stories).where(stories.c.id == story_id)).mappings().first()
    return story_summary(conn, dict(row)) if row and row["size"] else None


def story_summary(conn: Connection, row: dict[str, Any]) -> dict[str, Any]:
    """The contract's story object: id, title, article_ids, sources, first_seen, last_updated."""
    members = conn.execute(
        select(articles.c.id, articles.c.source)
        .where(articles.c.story_id == row["id"])
        .order_by(articles.c.sort_time, articles.c.id)
    ).all()
    sources = list(dict.fromkeys(m[1] for m in members if m[1]))
    return {
        "id": row["id"],
        "title": row["title"],
        "article_ids": [m[0] for m in members],
        "sources": sources,
        "first_seen": iso(as_utc(row.get("first_seen"))),
        "last_updated": iso(as_utc(row.get("last_updated"))),
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
    mine = story_reads.c.user_id == user_id, story_reads.c.story_id == story_id
    row = conn.execute(select(story_reads).where(*mine)).mappings().first()
    conn.execute(delete(story_reads).where(*mine))
    conn.execute(
        insert(story_reads).values(
            user_id=user_id, story_id=story_id, last_seen_at=utcnow(), seen_article_ids=article_ids
        )
    )
    return {int(i) for i in (row["seen_article_ids"] or [])} if row else None
