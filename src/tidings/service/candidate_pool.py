"""Build the ranking stage's candidates from the store: one pool per process, updated incrementally."""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Connection, Engine

from tidings.enrich.embeddings import unpack_vector
from tidings.rank import Candidate, CandidatePool
from tidings.rank.features import FloatArray
from tidings.rank.pool_update import merge_pool
from tidings.store import articles as article_repo
from tidings.store import candidates as candidate_repo
from tidings.store import reading as state_repo
from tidings.store.candidates import candidate_rows
from tidings.store.engine import read_only
from tidings.store.util import as_utc
from tidings.vocabulary import with_parent_names

log = logging.getLogger(__name__)

# A delta larger than this share of the pool is cheaper to load as a whole.
FULL_REBUILD_SHARE = 0.25
# Pools up to this size are updated on the request (milliseconds); larger ones in the background.
SYNC_UPDATE_ROWS = 20_000


@dataclass
class _PoolCache:
    version: tuple[int, int, datetime | None]
    pool: CandidatePool
    readers: tuple[int, datetime | None] | None = None  # the read_state version its popularity reflects
    seen: datetime | None = None  # the database's clock before its rows were read (PostgreSQL)


_LOCK = threading.Lock()
_POOLS: dict[str, _PoolCache] = {}
_BUILDING: dict[str, threading.Lock] = {}


def data_version(conn: Connection) -> tuple[int, int, datetime | None]:
    """The pool's revision marks in the database: newest article, story revision, newest enrichment."""
    return article_repo.change_marks(conn)


def _pool_key(conn: Connection) -> str:
    return conn.engine.url.render_as_string(hide_password=True)


def candidate_pool(conn: Connection) -> CandidatePool:
    """Every non-duplicate article as a columnar pool, kept in step with the database.

    The pool is built once per process (at start, by the server's warm-up) and then updated with only the
    articles added, re-clustered or enriched since, found from the database's revision marks, so another
    process's ingest is picked up on the next request. A large pool is updated in a background thread while
    requests are served the previous one (seconds stale); a small one is updated on the request.
    """
    key = _pool_key(conn)
    version, readers = candidate_repo.pool_marks(conn)  # one round trip for both checks
    with _LOCK:
        cached = _POOLS.get(key)
        building = _BUILDING.setdefault(key, threading.Lock())
    if cached is not None and cached.version != version:
        if cached.pool.size <= SYNC_UPDATE_ROWS:
            with building:
                _bring_up_to_date(conn, version)
            with _LOCK:
                cached = _POOLS[key]
        elif building.acquire(blocking=False):
            threading.Thread(target=_update_then_release, args=(conn.engine, building), daemon=True).start()
    elif cached is None:
        with building:
            _bring_up_to_date(conn, version)
        with _LOCK:
            cached = _POOLS[key]
    return with_fresh_popularity(conn, cached, readers)


def pooled_candidate(conn: Connection, article_id: int) -> Candidate | None:
    """The article's record from this process's pool as it stands (no freshness check), or None when the
    pool is not built or lacks it: enough for a profile update, without the queries of load_candidates."""
    with _LOCK:
        cached = _POOLS.get(_pool_key(conn))
    if cached is None:
        return None
    row = cached.pool.row_of_id.get(str(article_id))
    return None if row is None else cached.pool.candidate_at(row)


def with_fresh_popularity(
    conn: Connection, cached: _PoolCache, readers: tuple[int, datetime | None]
) -> CandidatePool:
    """The cached pool, its popularity column brought up to date when the reading state's version `readers`
    differs from the one it was counted at: only the articles changed since are recounted, so a feed
    request never reads everyone's history."""
    before = cached.readers
    if before != readers:
        if before is None or before[0] != readers[0] or before[1] is None or readers[1] is None:
            cached.pool.popularity = popularity_array(conn, cached.pool)
        else:
            cached.pool.popularity = recounted(conn, cached.pool, min(before[1], readers[1]))
        cached.readers = readers
    return cached.pool


def recounted(conn: Connection, pool: CandidatePool, since: datetime) -> FloatArray:
    """The pool's popularity column with the articles whose reading state changed since `since` recounted."""
    counts = state_repo.recounts_since(conn, since)
    values = pool.popularity.copy()  # requests in flight keep reading the old column
    for article_id, count in counts.items():
        row = pool.row_of_id.get(str(article_id))
        if row is not None:
            values[row] = count
    return values


def popularity_array(conn: Connection, pool: CandidatePool) -> FloatArray:
    """The pool's popularity column recomputed from the stored reading state."""
    values = np.zeros(pool.size, dtype=np.float32)
    for article_id, n in popularity_counts(conn).items():
        row = pool.row_of_id.get(str(article_id))
        if row is not None:
            values[row] = n
    return values


def refresh_pool(engine: Engine) -> CandidatePool:
    """Build the pool, or fold in what changed since it was built, in the calling thread (for the server's
    warm-up and its background poller, so that readers rarely find the pool out of date)."""
    with read_only(engine) as conn:
        key = _pool_key(conn)
        with _LOCK:
            building = _BUILDING.setdefault(key, threading.Lock())
        with building:
            return _bring_up_to_date(conn, data_version(conn))


def _update_then_release(engine: Engine, building: threading.Lock) -> None:
    """Background update of a large pool; `building` was acquired by the caller."""
    try:
        with read_only(engine) as conn:
            _bring_up_to_date(conn, data_version(conn))
    except Exception:
        log.exception("candidate pool update failed; serving the previous pool")
    finally:
        building.release()


def _bring_up_to_date(conn: Connection, version: tuple[int, int, datetime | None]) -> CandidatePool:
    """The cached pool at `version` (read before loading, so later changes are caught next time)."""
    key = _pool_key(conn)
    with _LOCK:
        cached = _POOLS.get(key)
    if cached and cached.version == version:
        return cached.pool
    started = time.perf_counter()
    # Read before the fold reads the old popularity column, so the column kept is at least this fresh.
    readers = cached.readers if cached is not None else None
    collect_young_garbage()
    seen = article_repo.database_clock(conn)  # before reading: what was committed by then is in the pool
    pool, merged = _updated(conn, cached, version)
    with _LOCK:
        # A fold keeps the old rows' popularity and counts the new rows afresh, so only later reading
        # changes need recounting; a full build recounts everything once.
        _POOLS[key] = _PoolCache(version, pool, readers if merged else None, seen)
    gc.freeze()  # everything alive now, the new pool included, leaves the cyclic collector's reach
    log.info("candidate pool at %d articles in %.2f s", pool.size, time.perf_counter() - started)
    return pool


def collect_young_garbage() -> None:
    """Collect the cyclic collector's young generations before a fold, which then freezes what is alive.

    A pool holds hundreds of thousands of objects that live until the next update; each full collection
    traversed them all (1.7 s at 100k articles on the busy 2-core machine), a pause taken by whichever request
    was running, so they are frozen out of the collector's reach after each fold (pools hold no cycles: they
    are freed by reference counting when replaced). The young generations are collected first, so that little
    cyclic garbage is frozen with them, and before the fold rather than after it: afterwards they hold the new
    pool's big lists and dicts, whose traversal held the interpreter lock for 13 to 18 ms per fold at 100k.
    """
    gc.collect(1)


def _updated(
    conn: Connection, cached: _PoolCache | None, version: tuple[int, int, datetime | None]
) -> tuple[CandidatePool, bool]:
    """The cached pool with the changes since its version folded in (True), or a full build (False)."""
    if cached is not None:
        ids = article_repo.changed_article_ids(conn, *cached.version, seen=cached.seen)
        if len(ids) <= max(1000, FULL_REBUILD_SHARE * cached.pool.size):
            fresh = load_candidates(conn, sorted(ids)) if ids else []
            return merge_pool(cached.pool, fresh, drop=ids), True
    pool = CandidatePool.from_candidates(load_candidates(conn))
    pool.ensure_sketch()
    return pool, False


def load_candidates(conn: Connection, article_ids: list[int] | None = None) -> list[Candidate]:
    """Candidates for the given articles (default: all that are not near-duplicates)."""
    rows = candidate_rows(conn, article_ids)
    ids = [r["id"] for r in rows] if article_ids is not None else None
    story_ids = {int(r["story_id"]) for r in rows if r["story_id"] is not None} if ids is not None else None
    entity_rows = candidate_repo.entity_lists(conn, ids)
    popularity = popularity_counts(conn, ids)
    velocity = story_velocity(conn, story_ids=story_ids)
    out = []
    for r in rows:
        keys, names = entity_rows.get(r["id"], ([], []))
        out.append(
            Candidate(
                article_id=r["id"],
                story_id=r["story_id"],
                title=r["title"],
                source=r["source"] or "unknown",
                topics=list(r["topics"] or with_parent_names([str(t) for t in r["tags"] or []])),
                entity_keys=keys,
                entity_names=names,
                keywords=f"{r['title']} {r['standfirst'] or ''} {r['lead'] or ''}".lower(),
                published_at=as_utc(r["sort_time"]),
                dated=r["published_at"] is not None,
                embedding=unpack_vector(r["embedding"]) if r["embedding"] else None,
                story_size=int(r["source_count"] or 1),
                story_velocity=float(velocity.get(r["story_id"], 0.0)),
                popularity=float(popularity.get(r["id"], 0)),
            )
        )
    return out


def popularity_counts(conn: Connection, article_ids: Collection[int] | None = None) -> dict[int, int]:
    """Distinct readers per article (read, saved or liked, from any client), only for `article_ids` when
    given; ranking subtracts one's own."""
    out: dict[int, int] = {}
    for chunk in candidate_repo.id_chunks(article_ids):
        out.update(state_repo.reader_counts(conn, chunk))
    return out


def story_velocity(
    conn: Connection, hours: float = 12.0, *, story_ids: Collection[int] | None = None
) -> dict[int, float]:
    """Articles per story within `hours` of the story's last update (growth near its newest moment).

    With `story_ids`, only those stories are read (an index range per story), as an update needs.
    """
    out: dict[int, float] = {}
    for story_id, when, last in candidate_repo.story_timelines(conn, story_ids):
        t, end = as_utc(when), as_utc(last)
        if t and end and end - t <= timedelta(hours=hours):
            out[story_id] = out.get(story_id, 0.0) + 1.0
    return out
