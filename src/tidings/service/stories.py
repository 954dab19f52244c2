"""Story views and related articles, read from the store."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import Connection

from tidings.pipeline.story_placement import signature_for
from tidings.service.candidate_pool import candidate_pool
from tidings.service.story_idf import store_idf
from tidings.store import articles as article_repo
from tidings.store import stories as story_repo
from tidings.store.util import as_utc, iso
from tidings.stories import related
from tidings.stories.related import DEFAULT_WINDOW_HOURS

UNDATED_WINDOW_HOURS = 24.0 * 365 * 100  # any date: see related_items


def story_view(conn: Connection, story_id: int) -> dict[str, Any] | None:
    """A story with its timeline and key points attributed to outlets."""
    story = story_repo.get_story(conn, story_id)
    if story is None:
        return None
    rows = story_repo.timeline_rows(conn, story_id)
    timeline = [
        {
            "article_id": r["id"],
            "title": r["title"],
            "source": r["source"],
            "url": r["url"],
            "time": iso(as_utc(r["sort_time"])),
            "duplicate_of": r["duplicate_of"],
        }
        for r in rows
    ]
    points: list[dict[str, Any]] = []
    seen: set[str] = set()
    for r in rows:
        for point in (r["key_points"] or [])[:2]:
            norm = " ".join(point.lower().split())
            if norm not in seen:
                seen.add(norm)
                points.append({"text": point, "source": r["source"], "article_id": r["id"]})
    return {**story, "article_count": len(rows), "timeline": timeline, "key_points": points[:8]}


def related_items(conn: Connection, article_id: int, limit: int = 10) -> list[dict[str, Any]] | None:
    """Same-story articles first, then nearest neighbours by embedding in a recent window, scored as ingest
    scores a pair (with the store's IDF)."""
    row = article_repo.story_and_time(conn, article_id)
    if row is None:
        return None
    sig = signature_for(conn, article_id, None)
    story_id = row["story_id"]
    same_ids = [i for i in story_repo.member_ids(conn, story_id) if i != article_id] if story_id else []
    neighbour_ids = nearest_ids(conn, sig.embedding, exclude=article_id) if sig.embedding is not None else []
    ids = list(dict.fromkeys([*same_ids, *neighbour_ids]))
    candidates = [signature_for(conn, i, None) for i in ids]
    # An undated article (a scraped page) has no time to window on: its ingest time says nothing about
    # when it happened, so its neighbours count whatever their dates.
    window = DEFAULT_WINDOW_HOURS if row["published_at"] is not None else UNDATED_WINDOW_HOURS
    # Names and words weigh by their rarity in the newest articles, as when ingest placed them: the score
    # shown is the pair model's probability, not an overstated one that counts "Europe" like a rare name.
    ranked = related(sig, set(same_ids), candidates, limit=limit, window_hours=window, idf=store_idf(conn))
    titles = article_repo.titles_of(conn, [r[0] for r in ranked])
    return [
        {"article_id": aid, "title": titles.get(aid, ""), "score": round(float(score), 4), "same_story": same}
        for aid, score, same in ranked
    ]


def nearest_ids(conn: Connection, vector: np.ndarray, exclude: int, limit: int = 30) -> list[int]:
    """Ids of the stored articles nearest to vector (exact, over the cached candidate pool)."""
    pool = candidate_pool(conn)  # already in memory for feeds: no second read of the embeddings
    if pool.embeddings is None or not pool.size or pool.embeddings.shape[1] != vector.shape[0]:
        return []
    order = np.argsort(-(pool.embeddings @ vector))[: limit + 1]
    return [int(pool.article_ids[row]) for row in order if int(pool.article_ids[row]) != exclude][:limit]
