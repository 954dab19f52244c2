"""Glue between stored articles and the stories stage, run inside the ingest write transaction.

Each process keeps the stories stage's in-memory indexes (story centroids, entity IDF, near-duplicate LSH) and
brings them up to date from the database at the start of every locked write: stories changed since the last
revision seen and articles added since the last id seen. Holding the write lock while syncing and assigning
means two ingesters never cluster against a stale view.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine

from tidings.enrich.embeddings import unpack_vector
from tidings.models import Enrichment
from tidings.store import articles as article_repo
from tidings.store import stories as story_repo
from tidings.store.util import as_utc
from tidings.stories import (
    ArticleSignature,
    CandidateIndex,
    EntityIdf,
    NearDupIndex,
    StoryState,
    Weights,
    add_to_story,
    assign,
    body_terms,
    distinctive_numbers,
    entity_counts_from,
    idf_keys,
    maybe_split,
    text_fingerprint,
)
from tidings.stories.clusterer import RECENT_MEMBERS

log = logging.getLogger(__name__)
CLUSTER_WINDOW_HOURS = 96.0
SPLIT_CHECK_EVERY = 8  # a story is re-examined for a split each time it grows by this many articles
MEMBER_CACHE_SIZE = 20_000  # member signatures kept for the member check; older ones are read back on demand


@dataclass
class ClusterCache:
    """The in-memory view of stored stories for one database."""

    index: CandidateIndex = field(default_factory=CandidateIndex)
    idf: EntityIdf = field(default_factory=EntityIdf)
    dups: NearDupIndex = field(default_factory=NearDupIndex)
    revision: int = 0
    max_article_id: int = 0
    story_of: dict[int, int] = field(default_factory=dict)
    weights: Weights = field(default_factory=Weights)  # the defaults ship; `tidings eval stories` varies them
    members: OrderedDict[int, ArticleSignature] = field(default_factory=OrderedDict)

    def remember(self, sig: ArticleSignature) -> None:
        """Keep an article's signature for the member check (past the cap, the oldest one goes).

        Nothing is kept while neither the check nor member linkage is on: up to 20,000 signatures with their
        embeddings would otherwise be held by every ingesting process for nothing."""
        if self.weights.members <= 0.0 and self.weights.linkage <= 0.0:
            return
        self.members[sig.article_id] = sig
        self.members.move_to_end(sig.article_id)
        while len(self.members) > MEMBER_CACHE_SIZE:
            self.members.popitem(last=False)


_CACHES: dict[str, ClusterCache] = {}


def cache_for(conn: Connection) -> ClusterCache:
    """This process's cache for the connection's database."""
    key = conn.engine.url.render_as_string(hide_password=True)
    cache = _CACHES.get(key)
    if cache is None:
        cache = _CACHES[key] = ClusterCache()
    return cache


def forget_cache(conn: Connection) -> None:
    """Drop the cache (after a rolled-back write it may hold what never landed)."""
    forget_cache_for(conn.engine)


def forget_cache_for(engine: Engine) -> None:
    """Drop the cache of one database."""
    _CACHES.pop(engine.url.render_as_string(hide_password=True), None)


def sync_cache(conn: Connection, cache: ClusterCache) -> None:
    """Bring the cache up to date with stories and articles written by any process."""
    for row in story_repo.stories_since(conn, cache.revision):
        cache.revision = max(cache.revision, int(row["revision"]))
        if not row["size"] or not row["state"]:
            cache.index.remove(int(row["id"]))
            continue
        cache.index.upsert(StoryState.from_json(row["state"]))
    rows = article_repo.articles_after(conn, cache.max_article_id)
    if not rows:
        return
    observe_newest(conn, cache.idf, [r[0] for r in rows])
    for article_id, fingerprint, story_id in rows:
        cache.max_article_id = max(cache.max_article_id, article_id)
        if fingerprint:
            cache.dups.add(article_id, fingerprint)
        if story_id:
            cache.story_of[article_id] = story_id


def observe_newest(conn: Connection, idf: EntityIdf, ids: Sequence[int]) -> None:
    """Count stored articles (ids in id order) into an IDF window."""
    # Only the newest articles can still count in the window, so a large store's older texts stay unread.
    for keys in idf_keys_for(conn, list(ids[-idf.window :])):
        idf.observe(keys)


def entity_keys_for(conn: Connection, ids: list[int]) -> dict[int, dict[str, int]]:
    """Normalised entity counts of each article."""
    return {aid: entity_counts_from(raw) for aid, raw in article_repo.entity_counts(conn, ids).items()}


def idf_keys_for(conn: Connection, ids: list[int]) -> list[set[str]]:
    """Each stored article's IDF keys (entities and body terms), in the order given."""
    keys = entity_keys_for(conn, ids)
    rows = article_repo.signature_rows(conn, ids)
    return [
        idf_keys(keys.get(aid, {}), body_terms(_full_text(rows[aid])) if aid in rows else ()) for aid in ids
    ]


def _full_text(row: Mapping[Any, Any]) -> str:
    """A stored article's title and text, as the signature's numbers and body terms read them."""
    return f"{row['title'] or ''}\n{row['text'] or ''}"


def signature_for(conn: Connection, article_id: int, enrichment: Enrichment | None) -> ArticleSignature:
    """The stories stage's signature of a stored article (its enrichment passed in or read back)."""
    if enrichment is None:
        return signatures_for(conn, [article_id])[0]
    embedding = None if enrichment.embedding is None else np.asarray(enrichment.embedding)
    row = article_repo.signature_fields(conn, article_id)
    entities = entity_counts_from(enrichment.entities)
    return _signature(article_id, row, embedding, entities, list(enrichment.topics))


def signatures_for(conn: Connection, ids: list[int]) -> list[ArticleSignature]:
    """The signatures of stored articles, in the order given, read back in three queries per 500.

    Raises KeyError for an id with no article, as signature_fields raises for one."""
    rows = article_repo.signature_rows(conn, ids)
    vectors = article_repo.stored_embeddings(conn, ids)
    keys = entity_keys_for(conn, ids)
    out = []
    for aid in ids:
        packed = vectors.get(aid)
        embedding = None if packed is None else np.asarray(unpack_vector(packed))
        out.append(_signature(aid, rows[aid], embedding, keys.get(aid, {}), []))
    return out


def _signature(
    article_id: int,
    row: Mapping[Any, Any],
    embedding: np.ndarray | None,
    entities: dict[str, int],
    topics: list[str],
) -> ArticleSignature:
    """A signature from an article's stored columns and its enrichment's parts."""
    title, text = row["title"] or "", row["text"] or ""
    whole = _full_text(row)
    return ArticleSignature(
        article_id=article_id,
        title=row["title"],
        embedding=embedding,
        entity_keys=entities,
        published_at=as_utc(row["published_at"]),
        source=row["source"] or "",
        fingerprint=row["fingerprint"] or text_fingerprint(text),
        topics=topics,
        ingested_at=as_utc(row["ingested_at"]),
        word_count=len(title.split()) + len(text.split()),
        numbers=distinctive_numbers(whole),
        body_terms=body_terms(whole),
    )


def persist_story(conn: Connection, story: StoryState) -> None:
    """Write a story's state and aggregates."""
    centroid = story.packed_vector() or None
    story_repo.save_story(
        conn,
        story.story_id,
        title=story.headline()[:1000],
        size=story.size,
        source_count=len(story.sources),
        first_seen=story.first_seen,
        last_updated=story.last_updated,
        centroid=centroid,
        state=story.to_json(),
    )


def place_article(conn: Connection, cache: ClusterCache, sig: ArticleSignature) -> dict[str, Any]:
    """Join the article to a story (its near-duplicate original's, or the best match) or start a new one."""
    original = cache.dups.find(sig.fingerprint, exclude=sig.article_id)
    cache.dups.add(sig.article_id, sig.fingerprint)
    cache.idf.observe(sig.idf_keys)
    cache.max_article_id = max(cache.max_article_id, sig.article_id)
    target = cache.story_of.get(original) if original is not None else None
    if target is None or target not in cache.index.stories:
        candidates = cache.index.candidates(sig, window_hours=candidate_window(cache.weights, sig))
        decision = assign(sig, candidates, cache.idf, cache.weights, lambda s: story_members(conn, cache, s))
        target = decision.story_id
    if target is None:
        story = StoryState(story_id=story_repo.insert_story(conn))
    else:
        story = cache.index.stories[target]
    story = add_to_story(story, sig)
    persist_story(conn, story)
    cache.index.upsert(story)
    cache.story_of[sig.article_id] = story.story_id
    cache.remember(sig)
    if story.size >= SPLIT_CHECK_EVERY and story.size % SPLIT_CHECK_EVERY == 0:
        split_if_drifted(conn, cache, story)
    values: dict[str, Any] = {"story_id": story.story_id, "fingerprint": sig.fingerprint}
    if original is not None:
        values["duplicate_of"] = original
    article_repo.update_article(conn, sig.article_id, values)
    return {"story_id": story.story_id, "duplicate_of": original}


def candidate_window(weights: Weights, sig: ArticleSignature) -> float:
    """Hours around the article in which stories are candidates: wider when members decide (follow-ups weeks
    later name the same people and places, which the pair model weighs against the days between them)."""
    if weights.linkage > 0.0 and sig.published_at is not None:
        return max(CLUSTER_WINDOW_HOURS, weights.linkage_window_hours)
    return CLUSTER_WINDOW_HOURS


def story_members(conn: Connection, cache: ClusterCache, story: StoryState) -> Sequence[ArticleSignature]:
    """The signatures of a story's latest members, oldest first (read back when not cached)."""
    latest = story.article_ids[-RECENT_MEMBERS:]
    known = {m: cache.members[m] for m in latest if m in cache.members}
    # After a restart the cache is cold: read the missing members back together, not one by one.
    read = {sig.article_id: sig for sig in signatures_for(conn, [m for m in latest if m not in known])}
    for sig in read.values():
        cache.remember(sig)
    return [known[m] if m in known else read[m] for m in latest]


def rebuild_story(
    conn: Connection, cache: ClusterCache, story_id: int, members: list[int] | None = None
) -> None:
    """Recompute a story from its stored members (after one of them changed, or after a split)."""
    story = StoryState(story_id=story_id)
    ids = members if members is not None else story_repo.member_ids(conn, story_id)
    for sig in signatures_for(conn, list(ids)):
        story = add_to_story(story, sig)
    persist_story(conn, story)
    cache.index.upsert(story)
    for member in story.article_ids:
        cache.story_of[member] = story_id


def split_if_drifted(conn: Connection, cache: ClusterCache, story: StoryState) -> None:
    """Break a story that grew large or drifted into sub-stories (the largest part keeps the id)."""
    members = signatures_for(conn, story.article_ids)
    groups = maybe_split(story, members)
    if len(groups) < 2:
        return
    log.info("splitting story %s into %d stories", story.story_id, len(groups))
    rebuild_story(conn, cache, story.story_id, groups[0])
    for group in groups[1:]:
        new_id = story_repo.insert_story(conn)
        story_repo.move_articles(conn, group, new_id)
        rebuild_story(conn, cache, new_id, group)


def synced_cache(conn: Connection) -> ClusterCache:
    """This process's cache, brought up to date; call under the write lock before writing articles."""
    cache = cache_for(conn)
    try:
        sync_cache(conn, cache)
    except Exception:
        forget_cache(conn)
        raise
    return cache


def assign_stories(
    conn: Connection, cache: ClusterCache, written: list[tuple[int, str, Enrichment | None]]
) -> dict[int, dict[str, Any]]:
    """Cluster newly written or updated articles; returns article id -> {"story_id", "duplicate_of"}."""
    placed: dict[int, dict[str, Any]] = {}
    for article_id, status, enrichment in written:
        existing_story = article_repo.story_of(conn, article_id)
        if status == "updated" and existing_story:
            rebuild_story(conn, cache, int(existing_story))
            placed[article_id] = {"story_id": existing_story, "duplicate_of": None}
            continue
        placed[article_id] = place_article(conn, cache, signature_for(conn, article_id, enrichment))
    return placed
