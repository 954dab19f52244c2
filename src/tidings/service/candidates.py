"""Build the ranking stage's candidates from the store, cached per process until the data changes."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from tidings.rank import Candidate, CandidatePool
from tidings.store.tables import article_entities, articles, enrichments, events, stories
from tidings.store.util import as_utc

POSITIVE_KINDS = ("click", "read", "like", "save", "share", "more")
LEAD_CHARS = 400


@dataclass
class _PoolCache:
    key: tuple[int, int, int]
    pool: CandidatePool


_LOCK = threading.Lock()
_POOLS: dict[str, _PoolCache] = {}


def data_version(conn: Connection) -> tuple[int, int, int]:
    """A cheap fingerprint of what the pool depends on: newest article, story revision, enrichment count."""
    max_article = conn.execute(select(func.coalesce(func.max(articles.c.id), 0))).scalar_one()
    max_rev = conn.execute(select(func.coalesce(func.max(stories.c.revision), 0))).scalar_one()
    enriched = conn.execute(select(func.count()).select_from(enrichments)).scalar_one()
    return int(max_article), int(max_rev), int(enriched)


def candidate_pool(conn: Connection) -> CandidatePool:
    """Every non-duplicate article as a columnar pool, rebuilt only when the stored data changed."""
    key = conn.engine.url.render_as_string(hide_password=True)
    version = data_version(conn)
    with _LOCK:
        cached = _POOLS.get(key)
        if cached and cached.key == version:
            return cached.pool
    pool = CandidatePool.from_candidates(load_candidates(conn))
    with _LOCK:
        _POOLS[key] = _PoolCache(version, pool)
    return pool


def load_candidates(conn: Connection, article_ids: list[int] | None = None) -> list[Candidate]:
    """Candidates for the given articles (default: all that are not near-duplicates)."""
    from tidings.enrich.embeddings import unpack_vector

    query = (
        select(
            articles.c.id,
            articles.c.story_id,
            articles.c.title,
            articles.c.source,
            articles.c.sort_time,
            articles.c.standfirst,
            func.substr(articles.c.text, 1, LEAD_CHARS).label("lead"),
            enrichments.c.topics,
            enrichments.c.embedding,
            articles.c.tags,
            stories.c.source_count,
            stories.c.state,
        )
        .select_from(
            articles.outerjoin(enrichments, enrichments.c.article_id == articles.c.id).outerjoin(
                stories, stories.c.id == articles.c.story_id
            )
        )
        .where(articles.c.duplicate_of.is_(None))
    )
    if article_ids is not None:
        query = query.where(articles.c.id.in_(article_ids))
    rows = conn.execute(query).mappings().all()
    ids = [r["id"] for r in rows]
    entity_rows = entity_lists(conn, ids if article_ids is not None else None)
    popularity = popularity_counts(conn)
    velocity = story_velocity(conn)
    out = []
    for r in rows:
        keys, names = entity_rows.get(r["id"], ([], []))
        out.append(
            Candidate(
                article_id=r["id"],
                story_id=r["story_id"],
                title=r["title"],
                source=r["source"] or "unknown",
                topics=list(r["topics"] or r["tags"] or []),
                entity_keys=keys,
                entity_names=names,
                keywords=f"{r['title']} {r['standfirst'] or ''} {r['lead'] or ''}".lower(),
                published_at=as_utc(r["sort_time"]),
                embedding=unpack_vector(r["embedding"]) if r["embedding"] else None,
                story_size=int(r["source_count"] or 1),
                story_velocity=float(velocity.get(r["story_id"], 0.0)),
                popularity=float(popularity.get(r["id"], 0)),
            )
        )
    return out


def entity_lists(conn: Connection, ids: list[int] | None) -> dict[int, tuple[list[str], list[str]]]:
    """Article id -> (entity keys, display names)."""
    query = select(article_entities.c.article_id, article_entities.c.entity_key, article_entities.c.name)
    if ids is not None:
        query = query.where(article_entities.c.article_id.in_(ids))
    out: dict[int, tuple[list[str], list[str]]] = {}
    for aid, key, name in conn.execute(query):
        keys, names = out.setdefault(aid, ([], []))
        keys.append(key)
        names.append(name)
    return out


def popularity_counts(conn: Connection) -> dict[int, int]:
    """Positive interactions per article, over all users."""
    rows = conn.execute(
        select(events.c.article_id, func.count())
        .where(events.c.kind.in_(POSITIVE_KINDS))
        .group_by(events.c.article_id)
    )
    return {int(a): int(n) for a, n in rows if a is not None}


def story_velocity(conn: Connection, hours: float = 12.0) -> dict[int, float]:
    """Articles per story within `hours` of the story's last update (growth near its newest moment)."""
    rows = conn.execute(
        select(articles.c.story_id, articles.c.sort_time, stories.c.last_updated)
        .join(stories, stories.c.id == articles.c.story_id)
        .where(stories.c.size > 1)
    )
    out: dict[int, float] = {}
    for story_id, when, last in rows:
        t, end = as_utc(when), as_utc(last)
        if t and end and end - t <= timedelta(hours=hours):
            out[story_id] = out.get(story_id, 0.0) + 1.0
    return out


def newest_time(pool: CandidatePool) -> datetime | None:
    """The newest article time in a pool."""
    if not pool.size:
        return None
    from datetime import UTC

    return datetime.fromtimestamp(float(pool.timestamps.max()), tz=UTC)
