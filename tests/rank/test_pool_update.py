"""merge_pool: an incrementally updated pool ranks exactly like one built from scratch."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import numpy as np

from tests.rank.factory import NOW, make_candidates
from tidings.rank import CandidatePool, Profile, UserControls, build_feed
from tidings.rank.pool_update import merge_pool


def _rows(pool: CandidatePool) -> dict[str, tuple[object, ...]]:
    """Every row's content by article id, independent of vocabulary codes and row order."""
    out = {}
    for row in range(pool.size):
        c = pool.candidate_at(row)
        emb = None if c.embedding is None else tuple(np.round(c.embedding, 5).tolist())
        out[str(c.article_id)] = (
            c.title,
            c.source,
            str(c.story_id),
            sorted(c.topics),
            sorted(c.entity_keys),
            c.published_at,
            emb,
            c.story_size,
            c.story_velocity,
            c.popularity,
            c.keywords,
        )
    return out


def test_merge_equals_rebuild_with_new_changed_dropped_and_older_rows() -> None:
    items = make_candidates(400, seed=3)
    base_items, later = items[:300], items[300:]
    base = CandidatePool.from_candidates(base_items)
    changed = dataclasses.replace(
        base_items[10], topics=["brand new topic"], story_id="s-moved", story_size=3, source="new.example"
    )
    older = dataclasses.replace(later[0], published_at=NOW - timedelta(days=30))  # lands before every row
    fresh = [changed, older, *later[1:]]
    dropped = {base_items[20].article_id, base_items[21].article_id}
    merged = merge_pool(base, fresh, drop=dropped)
    expected_items = [c for c in base_items if c.article_id not in dropped and c is not base_items[10]]
    expected = CandidatePool.from_candidates([*expected_items, *fresh])
    assert merged.size == expected.size == 398
    assert _rows(merged) == _rows(expected)
    assert bool(np.all(np.diff(merged.timestamps) >= 0))
    assert merged.row_of_id[str(older.article_id)] == 0
    assert "brand new topic" in merged.topic_names and merged.source_code_of["new.example"] >= 0
    assert str(base_items[20].article_id) not in merged.row_of_id
    assert base.size == 300  # the base a reader may still hold is untouched
    assert _lookups(merged) == _lookups(expected)


def _lookups(pool: CandidatePool) -> tuple[object, ...]:
    """The pool's lookup tables in terms of names rather than codes."""
    return (
        {k: pool.topic_names[v] for k, v in pool.topic_code_of.items()},
        {k: pool.source_names[v] for k, v in pool.source_code_of.items()},
        {
            k: str(pool.story_ids[v])
            for k, v in pool.story_code_of.items()
            if v in set(pool.story_codes.tolist())
        },
        {k: sorted(pool.entity_keys[c] for c in v) for k, v in pool.entity_codes_of.items()},
        {k: pool.article_ids[v] for k, v in pool.row_of_id.items()},
    )


def test_merged_pool_gives_the_same_feed() -> None:
    items = make_candidates(500, seed=5)
    base = CandidatePool.from_candidates(items[:350])
    merged = merge_pool(base, items[350:], drop=())
    rebuilt = CandidatePool.from_candidates(items)
    profile = Profile(user="u")
    controls = UserControls(follows=[("topic", "science")], mutes=[("source", "site3.example")])
    got = build_feed(profile, controls, merged, NOW, limit=15)
    want = build_feed(profile, controls, rebuilt, NOW, limit=15)
    assert [i.article_id for i in got.items] == [i.article_id for i in want.items]
    assert [h.article_id for h in got.hidden] == [h.article_id for h in want.hidden]


def test_merge_extends_the_sketch() -> None:
    items = make_candidates(260, seed=8)
    base = CandidatePool.from_candidates(items[:200])
    base.ensure_sketch(min_rows=10, dims=8)
    assert base.sketch is not None and base.projection is not None
    merged = merge_pool(base, items[200:], drop=())
    assert merged.sketch is not None and merged.embeddings is not None
    assert merged.sketch.shape == (260, 8)
    np.testing.assert_allclose(merged.sketch, merged.embeddings @ base.projection, atol=1e-5)
    shrunk = merge_pool(merged, [], drop={items[0].article_id})
    assert shrunk.sketch is not None and shrunk.sketch.shape == (259, 8)
    assert str(items[0].article_id) not in shrunk.row_of_id


def test_appends_grow_in_place_and_never_overwrite_a_pool_in_use() -> None:
    items = sorted(make_candidates(400, seed=9), key=lambda c: c.published_at)
    base = CandidatePool.from_candidates(items[:300])
    first = merge_pool(base, items[300:320], drop=())
    second = merge_pool(first, items[320:340], drop=())
    assert first.embeddings is not None and second.embeddings is not None
    assert np.shares_memory(first.embeddings, second.embeddings)  # the newer rows went into spare capacity
    branch = merge_pool(first, items[340:360], drop=())  # `first` no longer ends the buffer: a copy
    assert branch.embeddings is not None and not np.shares_memory(branch.embeddings, second.embeddings)
    for pool, expected in (
        (first, items[:320]),
        (second, items[:340]),
        (branch, [*items[:320], *items[340:360]]),
    ):
        assert _rows(pool) == _rows(CandidatePool.from_candidates(expected))


def test_rows_read_again_unchanged_stay_and_changed_ones_replace() -> None:
    items = sorted(make_candidates(400, seed=11), key=lambda c: c.published_at)
    first = merge_pool(CandidatePool.from_candidates(items[:300]), items[300:320], drop=())
    again = merge_pool(first, items[310:340], drop=())  # 310-319 re-read as they are: still an append
    assert first.embeddings is not None and again.embeddings is not None
    assert np.shares_memory(first.embeddings, again.embeddings)
    assert _rows(again) == _rows(CandidatePool.from_candidates(items[:340]))
    edited = dataclasses.replace(items[305], title="A corrected headline")
    fixed = merge_pool(again, [edited, items[306]], drop=())
    assert fixed.titles[fixed.row_of_id[str(items[305].article_id)]] == "A corrected headline"
    assert _rows(fixed) == _rows(CandidatePool.from_candidates([*items[:305], edited, *items[306:340]]))


def test_a_merge_that_changes_nothing_keeps_the_pool() -> None:
    # A web process's warm-up failed this way under bench/load.py: the articles changed since the pool's
    # version were all re-read unchanged (or were never candidates), so the plan had no fresh rows to append.
    items = sorted(make_candidates(200, seed=13), key=lambda c: c.published_at)
    first = merge_pool(CandidatePool.from_candidates(items[:150]), items[150:160], drop=())
    for same in (merge_pool(first, items[150:160], drop=()), merge_pool(first, [], drop=["no-such-id"])):
        assert _rows(same) == _rows(CandidatePool.from_candidates(items[:160]))


def test_rows_landing_near_the_end_renumber_only_the_tail_and_leave_the_base_index_alone() -> None:
    items = sorted(make_candidates(400, seed=5), key=lambda c: c.published_at or NOW)
    base_items, later = items[:300], items[300:]
    base = CandidatePool.from_candidates(base_items)
    before = dict(base.row_of_id)
    # New rows dated between the base's last few (as a feed's future-dated items leave them), one late row
    # re-read with a change, and one late row dropped.
    landing = base_items[-5].published_at
    fresh = [dataclasses.replace(c, published_at=landing) for c in later[:20]]
    fresh.append(dataclasses.replace(base_items[-2], title="A late correction"))
    dropped = {base_items[-1].article_id}
    merged = merge_pool(base, fresh, drop=dropped)
    expected = CandidatePool.from_candidates([*base_items[:-2], *fresh])
    assert _rows(merged) == _rows(expected)
    assert {k: merged.article_ids[v] for k, v in merged.row_of_id.items()} == {
        k: expected.article_ids[v] for k, v in expected.row_of_id.items()
    }
    assert base.row_of_id == before  # a reader still holding the base keeps its index
