"""Time folding ingest batches into a built candidate pool (`merge_pool`), as a web process does after ingest.

A synthetic pool of N articles (bench/feed.py's `make_pool`) takes a chain of batches; each batch holds 50 new
articles, the newest, plus `--changed` older articles re-read with one more source in their story (same time,
same vector), as happens when new articles join existing stories. With `--landing K` the new articles are
dated just before the pool's K newest rows instead (feeds fetched in turn, or future-dated items, leave newer
rows behind), so that each fold renumbers the last rows. Prints the median and the maximum fold time
over the batches after the first two, and the CPU model. To compare two versions, run this script against each
(e.g. with PYTHONPATH pointing at the other checkout's src) in the same session.

    python bench/pool_fold.py --articles 100000 --changed 0 40 [--landing 200]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from feed import make_pool  # bench/ is not a package: its own folder is on the path
from http_latency import cpu_model
from tidings.rank import Candidate, CandidatePool
from tidings.rank.pool_update import merge_pool

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
    originals = (list(pool.article_ids), raw)
    rng = random.Random(0)
    times = []
    for number in range(batches):
        fresh = batch(pool, originals, number, changed, rng, landing)
        started = time.perf_counter()
        pool = merge_pool(pool, fresh, drop=[c.article_id for c in fresh])
        times.append((time.perf_counter() - started) * 1000.0)
    kept = times[2:]  # the first folds size the spare capacity of the wide columns
    return {
        "articles": n,
        "changed": changed,
        "landing": landing,
        "folds": len(kept),
        "median_ms": round(statistics.median(kept), 1),
        "max_ms": round(max(kept), 1),
    }


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
