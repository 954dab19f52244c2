"""Time folding ingest batches into a built candidate pool (`merge_pool`), as a web process does after ingest.

A synthetic pool of N articles (bench/feed.py's `make_pool`) takes a chain of batches; each batch holds 50 new
articles, the newest, plus `--changed` older articles re-read with one more source in their story (same time,
same vector), as happens when new articles join existing stories. With `--landing K` the new articles are
dated just before the pool's K newest rows instead (feeds fetched in turn, or future-dated items, leave newer
rows behind), so that each fold renumbers the last rows. Prints the median and the maximum fold time
over the batches after the first two, and the CPU model. While each fold runs, a second thread naps 0.5 ms at
a time and counts how much longer each nap took: the time it waited for the interpreter lock, as a web
request running beside a background fold does (`lock_wait_ms`: the total per fold; `longest_wait_ms`: the
longest single wait). To compare two versions, run this script against each
(e.g. with PYTHONPATH pointing at the other checkout's src) in the same session.

    python bench/pool_fold.py --articles 100000 --changed 0 40 [--landing 200]
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import random
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from feed import make_pool  # bench/ is not a package: its own folder is on the path
from http_latency import cpu_model
from tidings.rank import Candidate, CandidatePool
from tidings.rank.pool_update import merge_pool
from tidings.service.candidate_pool import collect_young_garbage

BATCH = 50


def stored_pool(n: int) -> tuple[CandidatePool, np.ndarray]:
    """A synthetic pool as the database would give it: times in whole microseconds, and each embedding
    normalised from a raw vector (returned) the way a re-read article's would be."""
    pool = make_pool(n)
    pool.timestamps = np.round(pool.timestamps, 6)
    assert pool.embeddings is not None
    raw = pool.embeddings.copy()
    for row in range(n):
        pool.embeddings[row] = raw[row] / float(np.linalg.norm(raw[row]))
    return pool, raw


def batch(
    pool: CandidatePool,
    originals: tuple[list[str | int], np.ndarray],
    number: int,
    changed: int,
    rng: random.Random,
    landing: int = 0,
) -> list[Candidate]:
    """New articles, newest of all (or dated before the `landing` newest rows), and `changed` original
    articles whose story grew."""
    template = [pool.candidate_at(row) for row in range(pool.size - BATCH, pool.size)]
    start = datetime(2030, 1, 1, tzinfo=UTC) + timedelta(minutes=number)
    if landing:
        newer = float(pool.timestamps[pool.size - landing])
        start = datetime.fromtimestamp(newer, UTC) - timedelta(seconds=1)
    new = [
        dataclasses.replace(
            c, article_id=10**9 + number * 1000 + k, published_at=start, story_id=f"n{number}-{k}"
        )
        for k, c in enumerate(template)
    ]
    ids, raw = originals
    grown = []
    for row in rng.sample(range(len(ids)), changed):
        held = pool.candidate_at(pool.row_of_id[str(ids[row])])
        grown.append(dataclasses.replace(held, story_size=held.story_size + 1, embedding=raw[row]))
    return new + grown


def run(n: int, changed: int, batches: int, landing: int = 0) -> dict[str, float | int]:
    """Fold `batches` batches into a pool of `n` articles; fold times in milliseconds."""
    pool, raw = stored_pool(n)
    pool.ensure_sketch()  # as a web process does after building its pool (from 50,000 articles)
    gc.freeze()
    originals = (list(pool.article_ids), raw)
    rng = random.Random(0)
    times, waits, longest = [], [], []
    for number in range(batches):
        fresh = batch(pool, originals, number, changed, rng, landing)
        collect_young_garbage()  # as a web process does around each fold: without it, a full collection
        with LockProbe() as probe:  # of the pool's objects lands in some folds (55 ms at 1M, lock held)
            started = time.perf_counter()
            pool = merge_pool(pool, fresh, drop=[c.article_id for c in fresh])
            times.append((time.perf_counter() - started) * 1000.0)
        gc.freeze()
        waits.append(sum(probe.waits) * 1000.0)
        longest.append(max(probe.waits, default=0.0) * 1000.0)
    gc.unfreeze()  # back in the collector's reach once the run is over (the smoke test runs in pytest)
    kept = slice(2, None)  # the first folds size the spare capacity of the wide columns
    return {
        "articles": n,
        "changed": changed,
        "landing": landing,
        "folds": len(times[kept]),
        "median_ms": round(statistics.median(times[kept]), 1),
        "max_ms": round(max(times[kept]), 1),
        "lock_wait_ms": round(statistics.median(waits[kept]), 1),
        "longest_wait_ms": round(max(longest[kept]), 1),
    }


class LockProbe:
    """A thread that naps 0.5 ms at a time while the block runs and records how much longer each nap took."""

    NAP = 0.0005

    def __init__(self) -> None:
        self.waits: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            time.sleep(self.NAP)
            self.waits.append(max(0.0, time.perf_counter() - started - self.NAP))

    def __enter__(self) -> LockProbe:
        self._thread.start()
        time.sleep(0.01)  # running before the fold starts
        self.waits.clear()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    """Run each (size, changed) pair and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--articles", type=int, nargs="+", default=[100_000])
    parser.add_argument("--changed", type=int, nargs="+", default=[0, 40])
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--landing", type=int, default=0, help="date new articles before the K newest rows")
    args = parser.parse_args()
    results = [run(n, c, args.batches, args.landing) for n in args.articles for c in args.changed]
    print(json.dumps({"cpu": cpu_model(), "results": results}, indent=1))


if __name__ == "__main__":
    main()
