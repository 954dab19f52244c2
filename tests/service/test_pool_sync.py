"""The cached candidate pool follows the database: another process's ingest, re-enrichment and
re-clustering are folded in incrementally, giving the same pool as a full rebuild; the event and feed path
works on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Connection, Engine, create_engine, func, insert, select, text, update

from tests.rank.test_pool_update import _rows
from tidings.config import Settings
from tidings.enrich.embeddings import pack_vector
from tidings.rank import CandidatePool
from tidings.service import candidate_pool as cand
from tidings.service.feed import feed_for, record_event
from tidings.service.users import add_user, change_target
from tidings.store.engine import make_engine
from tidings.store.tables import article_entities, articles, enrichments, stories

PG_URL = os.environ.get("TIDINGS_TEST_POSTGRES_URL", "")
NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
TOPICS = ["politics", "sport", "science"]


def add_articles(engine: Engine, first: int, count: int, per_story: int = 3) -> None:
    """`count` enriched articles from id `first`, `per_story` to a story, written as an ingest would."""
    rng = np.random.default_rng(first)
    with engine.begin() as conn:
        revision = int(conn.execute(select(func.coalesce(func.max(stories.c.revision), 0))).scalar_one())
        for i in range(first, first + count):
            story = 1000 + i // per_story
            revision += 1  # clustering bumps the revision of every story an article joins
            if conn.execute(select(stories.c.id).where(stories.c.id == story)).first() is not None:
                conn.execute(update(stories).where(stories.c.id == story).values(revision=revision))
            else:
                conn.execute(
                    insert(stories).values(
                        id=story,
                        title=f"S{story}",
                        size=per_story,
                        source_count=per_story,
                        first_seen=NOW,
                        last_updated=NOW,
                        revision=revision,
                        created_at=NOW,
                    )
                )
            when = NOW - timedelta(hours=float(count + first - i))
            conn.execute(
                insert(articles).values(
                    id=i,
                    url=f"https://s{i % 5}.example/{i}",
                    canonical_url=f"https://s{i % 5}.example/{i}",
                    content_hash=f"{i:064x}",
                    source=f"s{i % 5}.example",
                    title=f"Headline {i}",
                    text=f"Body {i}.",
                    html="",
                    ingested_at=when,
                    sort_time=when,
                    story_id=story,
                    tags=[TOPICS[i % 3]],
                )
            )
            vec = rng.normal(size=8).astype(np.float32)
            conn.execute(
                insert(enrichments).values(
                    article_id=i,
                    topics=[TOPICS[i % 3]],
                    embedding=pack_vector(vec / np.linalg.norm(vec)),
                    updated_at=datetime.now(UTC),
                )
            )
            conn.execute(
                insert(article_entities).values(
                    article_id=i, entity_key=f"person:p{i % 4}", name=f"P{i % 4}", type="PERSON", count=1
                )
            )


def rebuilt(engine: Engine) -> CandidatePool:
    """The pool built from scratch."""
    with engine.connect() as conn:
        return CandidatePool.from_candidates(cand.load_candidates(conn))


def cached(engine: Engine) -> CandidatePool:
    """The process's cached pool, brought up to date on the request."""
    with engine.connect() as conn:
        return cand.candidate_pool(conn)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """A fresh, migrated database on SQLite or on the test PostgreSQL server."""
    from tidings.store import open_engine, reset_engines

    if request.param == "sqlite":
        yield Settings(home=tmp_path, enrich=False, subscribe_starter=False, background_refresh=False)
        return
    if not PG_URL:
        pytest.skip("TIDINGS_TEST_POSTGRES_URL is not set")
    name = f"tidings_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    yield Settings(home=tmp_path, database_url=url, enrich=False, subscribe_starter=False)
    open_engine(Settings(home=tmp_path, database_url=url)).dispose()
    reset_engines()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_pool_follows_another_process(settings: Settings) -> None:
    from tidings.store import open_engine

    engine = open_engine(settings)
    add_articles(engine, 1, 30)
    assert cached(engine).size == 30
    other = make_engine(settings.resolved_database_url)  # another process's connection pool
    add_articles(other, 31, 6)
    with other.begin() as conn:  # re-enrich article 3, move article 4 to a new story, mark 5 a duplicate
        conn.execute(
            update(enrichments)
            .where(enrichments.c.article_id == 3)
            .values(topics=["new topic"], updated_at=datetime.now(UTC) + timedelta(seconds=1))
        )
        top = int(conn.execute(select(func.max(stories.c.revision))).scalar_one())
        conn.execute(
            insert(stories).values(
                id=9999,
                title="moved",
                size=1,
                source_count=1,
                first_seen=NOW,
                last_updated=NOW,
                revision=top + 1,
                created_at=NOW,
            )
        )
        conn.execute(update(articles).where(articles.c.id == 4).values(story_id=9999))
        conn.execute(update(articles).where(articles.c.id == 5).values(duplicate_of=6))
        conn.execute(update(stories).where(stories.c.id == 1001).values(revision=top + 2))
    other.dispose()
    pool = cached(engine)
    assert pool.size == 35
    assert "new topic" in pool.topics_of(pool.row_of_id["3"])
    assert str(pool.story_ids[int(pool.story_codes[pool.row_of_id["4"]])]) == "9999"
    assert "5" not in pool.row_of_id
    assert _rows(pool) == _rows(rebuilt(engine))


def test_large_pool_is_updated_in_the_background(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from tidings.store import open_engine

    monkeypatch.setattr(cand, "SYNC_UPDATE_ROWS", 10)
    engine = open_engine(settings)
    add_articles(engine, 1, 20)
    assert cand.refresh_pool(engine).size == 20
    add_articles(engine, 21, 3)
    assert cached(engine).size == 20  # served the previous pool while a thread folds in the new articles
    deadline = time.monotonic() + 30
    while cached(engine).size != 23 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cached(engine).size == 23


def test_event_and_feed_on_a_fresh_article(settings: Settings) -> None:
    from tidings.service.feed import export_profile
    from tidings.store import open_engine

    engine = open_engine(settings)
    add_articles(engine, 1, 30)
    add_user(engine, "ann", None)
    change_target(engine, "ann", "follow", "topic:science")
    first, _ = feed_for(engine, settings, "ann", limit=10, as_of=NOW)
    hidden = first["items"][0]["article_id"]
    assert record_event(engine, settings, "ann", hidden, "hide") == {"ok": True}
    add_articles(engine, 31, 3)  # an article that arrived after the pool was built takes an event at once
    assert record_event(engine, settings, "ann", 33, "like") == {"ok": True}
    after, _ = feed_for(engine, settings, "ann", limit=10, as_of=NOW)
    assert hidden not in {i["article_id"] for i in after["items"]}  # the next request reflects the hide
    assert {h["article_id"] for h in after["hidden"]} >= {hidden}
    profile = export_profile(engine, "ann")["profile"]
    assert profile["counts"] == {"hide": 1, "like": 1}
    assert [p[0] for p in profile["positives"]] == ["33"]
    with pytest.raises(LookupError):
        record_event(engine, settings, "ann", 999_999, "like")


def test_a_built_pool_is_out_of_the_cyclic_collectors_reach(settings: Settings) -> None:
    import gc

    from tidings.store import open_engine

    engine = open_engine(settings)
    add_articles(engine, 1, 12)
    gc.unfreeze()
    try:
        pool = cand.refresh_pool(engine)
        tracked = {id(o) for o in gc.get_objects()}  # the permanent generation is not listed
        assert gc.get_freeze_count() > 0
        assert id(pool.entity_codes_of) not in tracked and id(pool.titles) not in tracked
    finally:
        gc.unfreeze()


def test_read_by_others_follows_reads_unreads_and_deleted_accounts(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Popularity is recounted only for the articles whose reading state changed, and always equals a full
    count, whichever process wrote the change; deleting an account takes its reads with it."""
    from tidings.store import open_engine
    from tidings.store import reading as state_repo
    from tidings.store import users as user_repo

    engine = open_engine(settings)
    add_articles(engine, 1, 12)
    ids = {name: int(add_user(engine, name, None)["id"]) for name in ("ann", "bob", "cat")}
    full_counts = cand.popularity_array
    full_calls: list[int] = []
    monkeypatch.setattr(
        cand, "popularity_array", lambda conn, pool: full_calls.append(1) or full_counts(conn, pool)
    )
    recounts: list[list[int]] = []
    recounts_since = state_repo.recounts_since

    def recorded(conn: Connection, since: datetime) -> dict[int, int]:
        counts = recounts_since(conn, since)
        recounts.append(list(counts))
        return counts

    monkeypatch.setattr(state_repo, "recounts_since", recorded)

    def popularity() -> dict[int, int]:
        pool = cached(engine)
        with engine.connect() as conn:
            assert np.array_equal(pool.popularity, full_counts(conn, pool))  # the same as counting everything
        return {int(a): int(pool.popularity[r]) for a, r in pool.row_of_id.items() if pool.popularity[r]}

    other = make_engine(settings.resolved_database_url)  # another process writes the reads
    with other.begin() as conn:
        state_repo.set_state(conn, ids["ann"], [1, 2], "read", True, at=NOW)
    assert popularity() == {1: 1, 2: 1}
    with other.begin() as conn:
        state_repo.set_state(conn, ids["bob"], [2, 3], "saved", True, at=NOW)  # the clock is fixed: NOW again
        state_repo.set_state(conn, ids["ann"], [1], "read", False, at=NOW)
    assert popularity() == {2: 2, 3: 1}
    assert recounts and set(recounts[-1]) >= {1, 2, 3} and 7 not in recounts[-1]  # not everyone's history
    with other.begin() as conn:
        state_repo.set_state(conn, ids["cat"], [3], "liked", 1, at=NOW)
        state_repo.set_state(conn, ids["cat"], [2], "hidden", True, at=NOW)  # hidden is not engagement
    assert popularity() == {2: 2, 3: 2}
    full = len(full_calls)
    add_articles(other, 13, 3)  # an ingest folds new articles in: their counts are fresh, the rest kept
    with other.begin() as conn:
        state_repo.set_state(conn, ids["ann"], [4, 14], "read", True, at=NOW)
    assert popularity() == {2: 2, 3: 2, 4: 1, 14: 1}
    assert cached(engine).size == 15 and len(full_calls) == full  # no full recount after the fold
    with other.begin() as conn:
        user_repo.delete_user(conn, ids["bob"])
    assert popularity() == {2: 1, 3: 1, 4: 1, 14: 1}
    assert len(full_calls) == full + 1
    other.dispose()


def test_a_bulk_load_sharing_one_stamp_is_not_read_again_after_a_start(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL the next fold re-reads what was enriched shortly before the pool was read (writers commit
    out of stamp order). It counted back from the newest stamp, so a bulk load stamped at one moment (a
    restore, a re-enrichment, the benchmark's synthetic store) was read again in full at the first change
    after every start: at 1,000,000 articles, a rebuild."""
    from tidings.store import open_engine

    engine = open_engine(settings)
    add_articles(engine, 1, 30)
    with engine.begin() as conn:
        conn.execute(update(enrichments).values(updated_at=datetime.now(UTC) - timedelta(minutes=5)))
    assert cand.refresh_pool(engine).size == 30
    loaded: list[list[int] | None] = []
    load = cand.load_candidates
    monkeypatch.setattr(cand, "load_candidates", lambda conn, ids=None: loaded.append(ids) or load(conn, ids))
    add_articles(engine, 33, 2)  # a story of their own
    pool = cand.refresh_pool(engine)
    assert loaded == [[33, 34]]
    assert _rows(pool) == _rows(rebuilt(engine))
