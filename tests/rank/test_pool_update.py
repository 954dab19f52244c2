"""merge_pool: an incrementally updated pool ranks exactly like one built from scratch."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import numpy as np

from tests.rank.factory import NOW, make_candidates
from tidings.rank import Candidate, CandidatePool, Profile, UserControls, build_feed
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


def test_a_story_that_grew_keeps_its_rows_and_shares_the_vectors() -> None:
    # A new article joining old stories re-reads their members with a new story size and the same time and
    # vector: they keep their row numbers, the embedding and sketch rows stay shared, and only the new
    # article is appended, as in a pure append.
    items = sorted(make_candidates(400, seed=17), key=lambda c: c.published_at or NOW)
    base = merge_pool(CandidatePool.from_candidates(items[:300]), items[300:320], drop=())
    base.ensure_sketch(min_rows=10, dims=8)
    grown = [dataclasses.replace(c, story_size=c.story_size + 2) for c in (items[40], items[200], items[310])]
    merged = merge_pool(base, [*grown, items[320]], drop=[c.article_id for c in grown])
    expected = [*items[:321]]
    for c in grown:
        expected[expected.index(next(e for e in expected if e.article_id == c.article_id))] = c
    assert _rows(merged) == _rows(CandidatePool.from_candidates(expected))
    assert all(merged.row_of_id[k] == v for k, v in base.row_of_id.items())
    assert merged.embeddings is not None and base.embeddings is not None
    assert np.shares_memory(merged.embeddings, base.embeddings)
    assert merged.sketch is not None and base.projection is not None
    np.testing.assert_allclose(merged.sketch[-1], merged.embeddings[-1] @ base.projection, atol=1e-5)
    again = [dataclasses.replace(c, story_size=c.story_size + 3) for c in (items[41], items[320])]
    later = merge_pool(merged, [*again, items[321]], drop=())
    assert later.sketch is not None and np.shares_memory(later.sketch, merged.sketch)  # the sketch grows too
    assert [merged.story_size[merged.row_of_id[str(c.article_id)]] for c in grown] == [
        c.story_size for c in grown
    ]
    assert base.story_size[base.row_of_id[str(items[40].article_id)]] == items[40].story_size
    assert _lookups(merged) == _lookups(CandidatePool.from_candidates(expected))


def test_a_new_vector_in_place_is_copied_and_the_base_keeps_its_own() -> None:
    items = sorted(make_candidates(300, seed=19), key=lambda c: c.published_at or NOW)
    base = CandidatePool.from_candidates(items)
    base.ensure_sketch(min_rows=10, dims=8)
    assert base.embeddings is not None and base.sketch is not None and base.projection is not None
    before, sketch_before = base.embeddings.copy(), base.sketch.copy()
    vector = np.random.default_rng(3).standard_normal(base.dim).astype(np.float32)
    enriched = dataclasses.replace(items[100], embedding=vector, topics=["a topic enrichment found"])
    merged = merge_pool(base, [enriched], drop=[enriched.article_id])
    row = base.row_of_id[str(enriched.article_id)]
    assert merged.row_of_id[str(enriched.article_id)] == row
    assert merged.embeddings is not None and merged.sketch is not None
    np.testing.assert_allclose(merged.embeddings[row], vector / np.linalg.norm(vector), atol=1e-6)
    np.testing.assert_allclose(merged.sketch[row], merged.embeddings[row] @ base.projection, atol=1e-5)
    np.testing.assert_array_equal(base.embeddings, before)  # a reader holding the base sees no change
    np.testing.assert_array_equal(base.sketch, sketch_before)
    assert "a topic enrichment found" in merged.topics_of(row)
    assert "a topic enrichment found" not in base.topics_of(row)
    assert _rows(merged) == _rows(CandidatePool.from_candidates([*items[:100], enriched, *items[101:]]))


def test_merges_keep_the_vocabulary_indexes_they_extend() -> None:
    items = sorted(make_candidates(400, seed=23), key=lambda c: c.published_at or NOW)
    pool = CandidatePool.from_candidates(items[:100])
    for start in range(100, 400, 50):
        chunk = items[start : start + 50]
        batch = [dataclasses.replace(c, topics=[*c.topics, f"topic {start}"]) for c in chunk]
        pool = merge_pool(pool, batch, drop=())
        for vocab in ("source_names", "topic_names", "entity_keys"):
            names = getattr(pool, vocab)
            assert pool.vocab_index[vocab] == {str(n): i for i, n in enumerate(names)}
        assert pool.story_code_of == {str(s): i for i, s in enumerate(pool.story_ids)}


def test_a_merged_pool_remembers_the_topics_of_rows_that_did_not_change() -> None:
    items = sorted(make_candidates(300, seed=29), key=lambda c: c.published_at or NOW)
    base = CandidatePool.from_candidates(items[:250])
    looked_up = {row: base.topics_of(row) for row in range(0, 250, 5)}
    retagged = dataclasses.replace(items[100], topics=["a new desk"])
    merged = merge_pool(base, [retagged, *items[250:]], drop=())
    row = merged.row_of_id[str(retagged.article_id)]
    assert merged.topics_of(row) == ["a new desk"]  # a changed row is looked up again
    assert {r: merged.topics_of(r) for r in looked_up} == {
        r: (["a new desk"] if r == row else topics) for r, topics in looked_up.items()
    }
    taken_over = {r for r in looked_up if merged._topics_memo[r] is base._topics_memo[r]}
    assert taken_over == set(looked_up) - {row}  # the same lists: not looked up again


def _address(array: object) -> int:
    """Where an array's data starts (comparing addresses keeps no reference to the buffer)."""
    assert isinstance(array, np.ndarray)
    return int(array.__array_interface__["data"][0])


def _landing_batches(seed: int) -> tuple[list[Candidate], list[list[Candidate]]]:
    """A base of 300 articles and batches of new ones dated just before the newest rows, as when feeds are
    fetched in turn: each merge renumbers only the last rows."""
    items = sorted(make_candidates(420, seed=seed), key=lambda c: c.published_at or NOW)
    base, later = items[:300], items[300:]
    batches = []
    for k in range(4):
        landing = base[-3].published_at - timedelta(minutes=k)
        batches.append([dataclasses.replace(c, published_at=landing) for c in later[k * 30 : k * 30 + 30]])
    return base, batches


def test_a_merge_below_the_newest_rows_reuses_a_buffer_no_pool_holds() -> None:
    base_items, batches = _landing_batches(seed=31)
    pool = CandidatePool.from_candidates(base_items)
    pool.ensure_sketch(min_rows=10, dims=8)
    expected = list(base_items)
    addresses = []
    for batch in batches:
        addresses.append((_address(pool.embeddings), _address(pool.sketch)))
        pool = merge_pool(pool, batch, drop=())  # the older pool is dropped here: nothing holds it any more
        expected += batch
        assert _rows(pool) == _rows(CandidatePool.from_candidates(expected))
        assert pool.embeddings is not None and pool.sketch is not None and pool.projection is not None
        np.testing.assert_allclose(pool.sketch, pool.embeddings @ pool.projection, atol=1e-5)
    # The first two merges copy (no free buffer yet); from the third on, the buffer of the pool two merges
    # back is written again from its first changed row.
    assert (_address(pool.embeddings), _address(pool.sketch)) == addresses[2]


def test_a_buffer_is_not_reused_while_a_pool_or_a_view_of_it_is_alive() -> None:
    base_items, batches = _landing_batches(seed=37)
    held = CandidatePool.from_candidates(base_items)
    assert held.embeddings is not None
    before = _rows(held)
    first = merge_pool(held, batches[0], drop=())
    second = merge_pool(first, batches[1], drop=())  # `held` is alive: its buffer must not be written
    assert not np.shares_memory(second.embeddings, held.embeddings)
    assert _rows(held) == before
    view = second.embeddings[280:300]  # a request still holding rows of `second`, not `second` itself
    copy = view.copy()
    address = _address(second.embeddings)
    third = merge_pool(second, batches[2], drop=())
    del second
    fourth = merge_pool(third, batches[3], drop=())
    assert _address(fourth.embeddings) != address
    np.testing.assert_array_equal(view, copy)
    assert _rows(fourth) == _rows(
        CandidatePool.from_candidates([*base_items, *(c for b in batches for c in b)])
    )
    assert _rows(first) == _rows(CandidatePool.from_candidates([*base_items, *batches[0]]))


def test_a_reused_buffer_takes_new_vectors_of_rows_re_read_in_place() -> None:
    base_items, batches = _landing_batches(seed=41)
    pool = merge_pool(CandidatePool.from_candidates(base_items), batches[0], drop=())
    pool = merge_pool(pool, batches[1], drop=())
    vector = np.random.default_rng(5).standard_normal(pool.dim).astype(np.float32)
    enriched = dataclasses.replace(base_items[10], embedding=vector)  # far below the rows that move
    address = _address(pool.embeddings)
    pool = merge_pool(pool, [enriched, *batches[2]], drop=())
    pool = merge_pool(pool, batches[3], drop=())
    # The buffer reused is the one of the pool before the new vector, which still holds the old vector at
    # that row: the row must be written again even though it lies far below the rows that moved.
    assert _address(pool.embeddings) == address
    expected = [enriched if c is base_items[10] else c for c in base_items]
    assert _rows(pool) == _rows(CandidatePool.from_candidates([*expected, *(c for b in batches for c in b)]))


def test_a_chain_of_merges_shares_storage_and_leaves_every_held_pool_as_it_was() -> None:
    items = sorted(make_candidates(2600, seed=11), key=lambda c: c.published_at or NOW)
    pool = CandidatePool.from_candidates(items[:2400])  # two full chunks of 1,024 rows, and a part
    held = [(pool, _rows(pool))]
    rows_now = {str(c.article_id): c for c in items[:2400]}
    for step, start in enumerate(range(2400, 2600, 20)):
        landing = pool.candidate_at(pool.size - 3).published_at  # before the three newest rows
        fresh = [dataclasses.replace(c, published_at=landing) for c in items[start : start + 20]]
        grown = pool.candidate_at(100 + step)  # far below the new rows: its row stays, with a new size
        fresh.append(dataclasses.replace(grown, story_size=grown.story_size + 1, title=f"Grown {step}"))
        merged = merge_pool(pool, fresh, drop=[])
        rows_now.update((str(c.article_id), c) for c in fresh)
        assert _rows(merged) == _rows(CandidatePool.from_candidates(list(rows_now.values())))
        assert merged.titles._chunks[0] is not pool.titles._chunks[0]  # the grown row's chunk is a copy
        assert merged.titles._chunks[1] is pool.titles._chunks[1]  # nothing changed there: shared
        held.append((merged, _rows(merged)))
        pool = merged
    assert all(_rows(p) == rows for p, rows in held)
