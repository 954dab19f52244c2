"""Feed latency and memory on synthetic stores of 100k and 1M articles with 1,000 users.

Run: .venv/bin/python bench/feed.py [--sizes 100000 1000000] [--requests 300]
Each size runs in its own process so that its peak RSS is its own. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import numpy as np
from scipy import sparse

from tidings.rank import CandidatePool, FeedbackEvent, Profile, UserControls, build_feed, update_profile

DIM = 384
DAYS = 30
N_SOURCES = 300
N_TOPICS = 40
N_ENTITIES = 30_000
N_USERS = 1000
EVENTS_PER_USER = 30
NOW = datetime(2024, 6, 1, tzinfo=UTC)
EVENT_MIX = [
    "click",
    "read",
    "read",
    "like",
    "impression",
    "impression",
    "impression",
    "fewer",
    "hide",
    "save",
]


def _zipf_codes(rng: np.random.Generator, n: int, vocab: int, a: float = 1.2) -> np.ndarray:
    """Codes in [0, vocab) with a long-tailed (Zipf-like) distribution."""
    return ((rng.zipf(a, size=n) - 1) % vocab).astype(np.int32)


def _csr(
    rng: np.random.Generator, n: int, vocab: int, low: int, high: int, first: np.ndarray | None
) -> sparse.csr_array:
    """A 0/1 article-by-vocabulary matrix with between `low` and `high` codes per article."""
    counts = rng.integers(low, high + 1, size=n)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    codes = _zipf_codes(rng, int(indptr[-1]), vocab)
    if first is not None:
        codes[indptr[:-1]] = first  # the main topic leads each article's list
    data = np.ones(codes.size, dtype=np.float32)
    return sparse.csr_array((data, codes, indptr), shape=(n, vocab))


def _embeddings(rng: np.random.Generator, main_topic: np.ndarray) -> np.ndarray:
    """Unit vectors clustered around one centroid per main topic, built in chunks to bound memory."""
    centroids = rng.standard_normal((N_TOPICS, DIM)).astype(np.float32)
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    out = np.empty((main_topic.size, DIM), dtype=np.float32)
    for start in range(0, main_topic.size, 100_000):
        stop = min(start + 100_000, main_topic.size)
        block = rng.standard_normal((stop - start, DIM), dtype=np.float32) * (1.0 / np.sqrt(DIM))
        block += 0.8 * centroids[main_topic[start:stop]]
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start:stop] = block
    return out


def make_pool(n: int, seed: int = 0) -> CandidatePool:
    """A synthetic store of `n` articles over 30 days with sources, topics, entities and stories."""
    rng = np.random.default_rng(seed)
    stamps = np.sort(rng.uniform((NOW - timedelta(days=DAYS)).timestamp(), NOW.timestamp(), size=n))
    sizes = rng.geometric(0.45, size=n)
    story_codes = np.repeat(np.arange(n), sizes)[:n].astype(np.int32)
    n_stories = int(story_codes[-1]) + 1
    story_size = np.bincount(story_codes, minlength=n_stories)[story_codes].astype(np.float32)
    main_topic = _zipf_codes(rng, n, N_TOPICS, 1.3)
    return CandidatePool(
        article_ids=list(range(n)),
        titles=[f"Synthetic article {i}" for i in range(n)],
        keywords=[f"synthetic article {i} word{i % 997}" for i in range(n)],
        timestamps=stamps,
        embeddings=_embeddings(rng, main_topic),
        source_codes=_zipf_codes(rng, n, N_SOURCES, 1.1),
        source_names=[f"source{i}.example" for i in range(N_SOURCES)],
        story_codes=story_codes,
        story_ids=list(range(n_stories)),
        story_size=story_size,
        story_velocity=(story_size * rng.uniform(0, 1, size=n)).astype(np.float32),
        popularity=rng.poisson(2.0, size=n).astype(np.float32) * (rng.uniform(size=n) < 0.3),
        topic_matrix=_csr(rng, n, N_TOPICS, 1, 3, main_topic),
        topic_names=[f"topic {i}" for i in range(N_TOPICS)],
        entity_matrix=_csr(rng, n, N_ENTITIES, 2, 5, None),
        entity_keys=[f"org:entity-{i}" for i in range(N_ENTITIES)],
    )


def make_users(
    pool: CandidatePool, seed: int = 1, n_users: int = N_USERS
) -> list[tuple[Profile, UserControls]]:
    """1,000 readers with a few favourite topics, a history of events and some follows and mutes."""
    rng = np.random.default_rng(seed)
    main_topic = pool.topic_matrix.indices[pool.topic_matrix.indptr[:-1]]
    recent = np.flatnonzero(pool.timestamps > (NOW - timedelta(days=7)).timestamp())
    by_topic = {t: recent[main_topic[recent] == t] for t in range(N_TOPICS)}
    users = []
    for u in range(n_users):
        favourites = [t for t in rng.choice(N_TOPICS, size=3, replace=False) if by_topic[int(t)].size]
        profile = Profile(user=f"user{u}")
        for k in range(EVENTS_PER_USER):
            row = int(rng.choice(by_topic[int(favourites[k % len(favourites)])]))
            when = NOW - timedelta(hours=float(rng.uniform(1, 7 * 24)))
            kind = EVENT_MIX[k % len(EVENT_MIX)]
            event = FeedbackEvent(kind, pool.article_ids[row], when, 60.0 if kind == "read" else None)
            profile = update_profile(profile, event, pool.candidate_at(row), when)
        follows = [("topic", pool.topic_names[int(favourites[0])])] if u % 3 == 0 else []
        follows += [("entity", pool.entity_keys[int(rng.integers(0, 200))])] if u % 5 == 0 else []
        mutes = [("source", pool.source_names[int(rng.integers(0, 50))])] if u % 5 == 1 else []
        mutes += [("keyword", "word7")] if u % 10 == 2 else []
        users.append((profile, UserControls(follows=follows, mutes=mutes)))
    return users


def run_size(n: int, requests: int) -> dict[str, float | int]:
    """Build one store and measure `requests` feed requests, one user at a time."""
    t0 = time.perf_counter()
    pool = make_pool(n)
    users = make_users(pool)
    setup = time.perf_counter() - t0
    rng = np.random.default_rng(2)
    for profile, controls in users[:5]:  # warm-up
        build_feed(profile, controls, pool, NOW)
    times = []
    sizes = []
    for _ in range(requests):
        profile, controls = users[int(rng.integers(0, len(users)))]
        start = time.perf_counter()
        result = build_feed(profile, controls, pool, NOW)
        times.append((time.perf_counter() - start) * 1000.0)
        sizes.append(len(result.items))
    ms = np.array(times)
    return {
        "articles": n,
        "users": len(users),
        "requests": requests,
        "window_articles": int(np.sum(pool.timestamps >= (NOW - timedelta(hours=72)).timestamp())),
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "max_ms": round(float(ms.max()), 2),
        "mean_items": round(float(np.mean(sizes)), 2),
        "setup_s": round(setup, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
    }


def main() -> None:
    """Run each size in a child process and print the results as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.single:
        print(json.dumps(run_size(args.sizes[0], args.requests)))
        return
    results = []
    for n in args.sizes:
        cmd = [sys.executable, __file__, "--single", "--sizes", str(n), "--requests", str(args.requests)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    targets = {100_000: (50.0, None), 1_000_000: (200.0, 3072.0)}
    for r in results:
        p99_max, rss_max = targets.get(int(r["articles"]), (None, None))
        r["meets_target"] = bool(
            (p99_max is None or r["p99_ms"] <= p99_max) and (rss_max is None or r["peak_rss_mb"] <= rss_max)
        )
    print(json.dumps({"feed_benchmark": results}, indent=2))


if __name__ == "__main__":
    main()
