"""The benchmarks' building blocks stay runnable (tiny sizes; the real runs are `bench/*.py`)."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType

from tests.conftest import REPO_ROOT
from tidings.rank import build_feed


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO_ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_synthetic_store_serves_feeds() -> None:
    feed = _load("feed")
    pool = feed.make_pool(3000)
    assert pool.size == 3000 and pool.embeddings is not None and pool.embeddings.shape[1] == feed.DIM
    profile, controls = feed.make_users(pool, n_users=3)[0]
    result = build_feed(profile, controls, pool, feed.NOW)
    assert len(result.items) == 20
    assert len({i.story_id for i in result.items}) == 20


def test_reader_simulation_on_a_small_corpus(tmp_path: Path) -> None:
    readers = _load("readers")
    words = {"sport": "goal match league", "business": "profit shares market", "tech": "phone chip software"}
    for section, vocab in words.items():
        (tmp_path / section).mkdir()
        for i in range(40):
            body = f"{vocab} story number {i}. Acme Corp and Jane Doe said Big Town was busy. " * 3
            (tmp_path / section / f"{i:03d}.txt").write_text(f"{section.title()} headline {i}\n\n{body}")
    corpus = readers.build_corpus(tmp_path, use_tfidf=True)
    assert len(corpus.candidates) == 120 and corpus.entities[0]
    readers.BACKGROUND_READERS = 5
    results = readers.evaluate(corpus, readers=2, seed=0)
    assert set(results) == set(readers.METHODS)
    assert all(0.0 <= v <= 1.0 for r in results.values() for v in r.values())


def test_the_fold_benchmark_s_lock_probe_sees_a_wait_for_the_interpreter_lock() -> None:
    fold = _load("pool_fold")
    with fold.LockProbe() as probe:
        sum(range(20_000_000))  # one C call: it keeps the lock for its whole run, a few hundred ms
    assert max(probe.waits) >= 0.02


def test_pool_fold_benchmark_runs_and_keeps_the_rows_it_grows() -> None:
    fold = _load("pool_fold")
    result = fold.run(3000, changed=5, batches=4)
    assert result["folds"] == 2 and result["articles"] == 3000 and result["median_ms"] > 0
    assert {"lock_wait_ms", "longest_wait_ms"} <= result.keys()
    pool, raw = fold.stored_pool(500)
    fresh = fold.batch(pool, (list(pool.article_ids), raw), 0, 5, random.Random(1))
    assert len(fresh) == fold.BATCH + 5
    grown = [c for c in fresh if str(c.article_id) in pool.row_of_id]
    assert all(c.story_size == pool.story_size[pool.row_of_id[str(c.article_id)]] + 1 for c in grown)
