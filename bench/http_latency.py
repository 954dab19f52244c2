"""For-you latency through real HTTP over a synthetic 100k-article SQLite store.

Builds the store (articles, enrichments with packed random unit embeddings, entities, topics, stories),
starts `tidings serve` in a subprocess on loopback, warms it up once, then times GET /api/v1/feed and the
HTML For you page for one signed-in user with httpx. Prints JSON with p50/p95/p99 per endpoint.
(Named http_latency.py, not http.py, so that it does not shadow the standard library's http package.)

Run: .venv/bin/python bench/http_latency.py [--articles 100000] [--requests 200]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import insert

DIM = 384
SOURCES = [f"outlet{i}.example" for i in range(200)]
TOPICS = [
    "politics",
    "economy",
    "sport",
    "science and technology",
    "health",
    "conflict",
    "environment",
    "arts and culture",
    "crime and law",
    "education",
]


def build_store(home: Path, n: int, seed: int = 7) -> None:
    """Write n synthetic articles (in stories of one to five) with enrichment rows into a fresh database."""
    os.environ["TIDINGS_HOME"] = str(home)
    from tidings.config import Settings
    from tidings.enrich.embeddings import pack_vector
    from tidings.store import open_engine
    from tidings.store.tables import article_entities, article_topics, articles, enrichments, stories

    rng = np.random.default_rng(seed)
    engine = open_engine(Settings(home=home))
    now = datetime.now(UTC)
    centres = rng.normal(size=(2000, DIM)).astype(np.float32)
    story_rows, article_rows, enrich_rows, entity_rows, topic_rows = [], [], [], [], []
    article_id = 0
    story_id = 0
    while article_id < n:
        story_id += 1
        size = int(rng.integers(1, 6))
        first = now - timedelta(hours=float(rng.uniform(0, 30 * 24)))
        centre = centres[rng.integers(0, len(centres))]
        topic = TOPICS[int(rng.integers(0, len(TOPICS)))]
        story_rows.append(
            {
                "id": story_id,
                "title": f"Story {story_id}",
                "size": size,
                "source_count": size,
                "first_seen": first,
                "last_updated": first,
                "revision": story_id,
                "created_at": now,
            }
        )
        for _ in range(min(size, n - article_id)):
            article_id += 1
            when = first + timedelta(minutes=float(rng.uniform(0, 600)))
            vec = centre + rng.normal(scale=0.6, size=DIM).astype(np.float32)
            vec /= np.linalg.norm(vec)
            source = SOURCES[int(rng.integers(0, len(SOURCES)))]
            article_rows.append(
                {
                    "id": article_id,
                    "url": f"https://{source}/a/{article_id}",
                    "canonical_url": f"https://{source}/a/{article_id}",
                    "content_hash": f"{article_id:064x}",
                    "source": source,
                    "title": f"Synthetic headline {article_id}",
                    "text": f"Synthetic body {article_id}.",
                    "html": "",
                    "published_at": when,
                    "ingested_at": when,
                    "sort_time": when,
                    "status": "ok",
                    "is_teaser": False,
                    "fulltext_attempts": 0,
                    "story_id": story_id,
                    "tags": [topic],
                }
            )
            enrich_rows.append(
                {
                    "article_id": article_id,
                    "language": "en",
                    "topics": [topic],
                    "entities": [],
                    "key_points": [],
                    "embedding": pack_vector(vec),
                    "versions": {},
                    "skipped": [],
                    "updated_at": now,
                }
            )
            person = f"person:p{int(rng.integers(0, 20000))}"
            entity_rows.append(
                {
                    "article_id": article_id,
                    "entity_key": person,
                    "name": person[7:].upper(),
                    "type": "PERSON",
                    "count": 1,
                }
            )
            topic_rows.append({"article_id": article_id, "topic": topic})
    with engine.begin() as conn:
        for table, rows in (
            (stories, story_rows),
            (articles, article_rows),
            (enrichments, enrich_rows),
            (article_entities, entity_rows),
            (article_topics, topic_rows),
        ):
            for start in range(0, len(rows), 5000):
                conn.execute(insert(table), rows[start : start + 5000])


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile in milliseconds, rounded."""
    return round(float(np.percentile(values, q)) * 1000, 1)


def time_requests(client: httpx.Client, url: str, count: int) -> dict[str, float]:
    """p50/p95/p99 of count sequential GETs."""
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get(url)
        samples.append(time.perf_counter() - start)
        response.raise_for_status()
    return {
        "p50_ms": percentile(samples, 50),
        "p95_ms": percentile(samples, 95),
        "p99_ms": percentile(samples, 99),
        "mean_ms": round(statistics.fmean(samples) * 1000, 1),
    }


def main() -> None:
    """Build, serve, measure, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="tidings-http-"))
    started = time.perf_counter()
    build_store(home, args.articles)
    built = time.perf_counter() - started
    env = {
        **os.environ,
        "TIDINGS_HOME": str(home),
        "TIDINGS_BACKGROUND_REFRESH": "0",
        "TIDINGS_SUBSCRIBE_STARTER": "0",
    }
    token = json.loads(
        subprocess.run(
            [sys.executable, "-m", "tidings", "user", "add", "bench", "--json"],
            env=env,
            check=True,
            capture_output=True,
        ).stdout
    )
    subprocess.run(
        [sys.executable, "-m", "tidings", "follow", "bench", "topic:science and technology"],
        env=env,
        check=True,
        capture_output=True,
    )
    token = json.loads(
        subprocess.run(
            [sys.executable, "-m", "tidings", "user", "token", "bench", "--json"],
            env=env,
            check=True,
            capture_output=True,
        ).stdout
    )["token"]
    with sqlite3.connect(home / "tidings.db") as db:  # skip onboarding: the reader already follows a topic
        db.execute("UPDATE users SET onboarded = 1")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tidings", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=120, headers={"Authorization": f"Bearer {token}"}) as client:
            for _ in range(600):
                try:
                    if client.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            warm = time.perf_counter()
            client.get(f"{base}/api/v1/feed?limit=20").raise_for_status()
            first = time.perf_counter() - warm
            api = time_requests(client, f"{base}/api/v1/feed?limit=20", args.requests)
            client.cookies.set("tidings_session", token)
            page = time_requests(client, f"{base}/for-you", args.requests)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(
        json.dumps(
            {
                "articles": args.articles,
                "requests": args.requests,
                "build_seconds": round(built, 1),
                "first_request_seconds": round(first, 2),
                "api_feed": api,
                "for_you_page": page,
                "cores": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
