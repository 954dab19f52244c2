"""Feed and event latency through real HTTP, for many distinct readers, over a synthetic 100k-article store.

Builds the store (articles, enrichments with packed random unit embeddings, entities, topics, stories) once
into --store and copies it for each run, adds --readers users (each following one topic), starts
`tidings serve` on loopback and waits until it reports its candidate pool warm. Then, while a thread plays
another process's ingest (a batch of new articles every --ingest-every seconds, written straight into the
database), every reader in turn asks for its feed and sends one event (like, hide, fewer, click or read) on
an item of it, for --rounds rounds. Reported separately, as p50/p95/p99 in ms:
- feed_cold: each reader's first feed after the start; feed_warm: the later ones;
- feed_after_ingest: the first feed request after each ingest batch committed;
- event: POST /api/v1/events; search: a query matching most articles; latest: the /latest page;
- concurrent_feed: 8 clients at once, each a feed then an event, with requests per second;
- ingest_batch_write: each batch's write; ingest_failures: batches that waited past SQLite's busy timeout;
- server_cpu_ms_per_request: the server's CPU time per request, cold and warm (independent of machine load);
- timeouts: requests cut off after 120 s (counted at 120 s in the percentiles); errors: by status.
Prints JSON with these, the CPU model and the core count.
(Named http_latency.py, not http.py, so that it does not shadow the standard library's http package.)

Run: nice -n 10 .venv/bin/python bench/http_latency.py --store /tmp/tidings-100k [--readers 30 --rounds 5]
PostgreSQL: ... --database-url postgresql+psycopg://USER@HOST:PORT/DB (built there once when it is empty).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import OperationalError

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


def build_store(home: Path, n: int, seed: int = 7, database_url: str | None = None) -> None:
    """Write n synthetic articles (in stories of one to five) with enrichment rows into a fresh database (the
    SQLite file in `home`, or `database_url`)."""
    os.environ["TIDINGS_HOME"] = str(home)
    from tidings.config import Settings
    from tidings.enrich.embeddings import pack_vector
    from tidings.store import open_engine
    from tidings.store.tables import article_entities, article_topics, articles, enrichments, stories

    rng = np.random.default_rng(seed)
    engine = open_engine(Settings(home=home, database_url=database_url))
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
    engine.dispose()  # closes the last connection, which checkpoints the WAL into the file we copy


EVENT_KINDS = ("like", "hide", "fewer", "click", "read")


def synthetic_batch(
    engine: Engine,
    rng: np.random.Generator,
    count: int,
    centres: np.ndarray,
    now: datetime,
    join_share: float = 0.0,
) -> None:
    """Write `count` new articles, as another process's ingest would (one transaction): each starts a new
    story, or with probability `join_share` joins one of the 500 newest stories, whose members the web
    processes then re-read with a new story size."""
    from sqlalchemy import update

    from tidings.enrich.embeddings import pack_vector
    from tidings.store.tables import article_entities, article_topics, articles, enrichments, stories

    with engine.begin() as conn:
        article_id = int(conn.execute(select(func.max(articles.c.id))).scalar_one() or 0)
        story_id = int(conn.execute(select(func.max(stories.c.id))).scalar_one() or 0)
        revision = int(conn.execute(select(func.max(stories.c.revision))).scalar_one() or 0)
        for _ in range(count):
            article_id, revision = article_id + 1, revision + 1
            topic = TOPICS[int(rng.integers(0, len(TOPICS)))]
            source = SOURCES[int(rng.integers(0, len(SOURCES)))]
            vec = centres[rng.integers(0, len(centres))] + rng.normal(scale=0.6, size=DIM).astype(np.float32)
            vec /= np.linalg.norm(vec)
            joins = join_share > 0 and rng.random() < join_share  # no draw at 0: earlier runs stay comparable
            joined = int(rng.integers(max(1, story_id - 499), story_id + 1)) if joins else 0
            if joined:
                grown = {"size": stories.c.size + 1, "source_count": stories.c.source_count + 1}
                conn.execute(
                    update(stories)
                    .where(stories.c.id == joined)
                    .values(**grown, last_updated=now, revision=revision)
                )
            else:
                story_id += 1
                conn.execute(
                    insert(stories).values(
                        id=story_id,
                        title=f"Story {story_id}",
                        size=1,
                        source_count=1,
                        first_seen=now,
                        last_updated=now,
                        revision=revision,
                        created_at=now,
                    )
                )
            conn.execute(
                insert(articles).values(
                    id=article_id,
                    url=f"https://{source}/n/{article_id}",
                    canonical_url=f"https://{source}/n/{article_id}",
                    content_hash=f"n{article_id:063x}",
                    source=source,
                    title=f"Fresh headline {article_id}",
                    text=f"Fresh body {article_id}.",
                    html="",
                    published_at=now,
                    ingested_at=now,
                    sort_time=now,
                    status="ok",
                    is_teaser=False,
                    fulltext_attempts=0,
                    story_id=joined or story_id,
                    tags=[topic],
                )
            )
            conn.execute(
                insert(enrichments).values(
                    article_id=article_id,
                    language="en",
                    topics=[topic],
                    entities=[],
                    key_points=[],
                    embedding=pack_vector(vec),
                    versions={},
                    skipped=[],
                    updated_at=now,
                )
            )
            person = f"person:p{int(rng.integers(0, 20000))}"
            conn.execute(
                insert(article_entities).values(
                    article_id=article_id, entity_key=person, name=person[7:].upper(), type="PERSON", count=1
                )
            )
            conn.execute(insert(article_topics).values(article_id=article_id, topic=topic))


def add_readers(engine: Engine, count: int, seed: int = 11, prefix: str = "reader") -> list[str]:
    """Create `count` onboarded readers, each following one topic; returns their API tokens."""
    from sqlalchemy import update

    from tidings.store import users as user_repo
    from tidings.store.tables import users

    rng = np.random.default_rng(seed)
    tokens = []
    with engine.begin() as conn:
        for i in range(count):
            user_id = user_repo.create_user(conn, f"{prefix}{i}", None)
            topic = TOPICS[int(rng.integers(0, len(TOPICS)))]
            user_repo.add_target(conn, user_id, "follow", "topic", topic)
            conn.execute(update(users).where(users.c.id == user_id).values(onboarded=True))
            tokens.append(user_repo.create_token(conn, user_id, "bench")[1])
    return tokens


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def summary(samples: list[float]) -> dict[str, float]:
    """p50/p95/p99 and mean in milliseconds, and the sample count."""
    if not samples:
        return {"n": 0}
    ms = np.asarray(samples) * 1000
    return {
        "n": len(samples),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p95_ms": round(float(np.percentile(ms, 95)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "mean_ms": round(statistics.fmean(ms), 1),
    }


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or the platform's processor string)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown"


class Ingester(threading.Thread):
    """Writes a batch of new articles every `every` seconds; `batches` counts the committed ones."""

    def __init__(self, engine: Engine, batch: int, every: float, join_share: float = 0.0) -> None:
        super().__init__(daemon=True)
        self.engine, self.batch, self.every, self.join_share = engine, batch, every, join_share
        self.batches = 0
        self.seconds: list[float] = []
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        rng = np.random.default_rng(99)
        centres = rng.normal(size=(2000, DIM)).astype(np.float32)
        while not self.stop.wait(self.every):
            started = time.perf_counter()
            try:
                synthetic_batch(self.engine, rng, self.batch, centres, datetime.now(UTC), self.join_share)
            except OperationalError as exc:  # the write lock stayed taken past SQLite's busy timeout
                self.errors.append(str(exc.orig))
                continue
            self.seconds.append(time.perf_counter() - started)
            self.batches += 1


class Readers:
    """The readers' HTTP clients and the samples they collect."""

    def __init__(self, base: str, tokens: list[str]) -> None:
        self.base = base
        self.clients = [
            httpx.Client(base_url=base, timeout=120, headers={"Authorization": f"Bearer {t}"}) for t in tokens
        ]
        self.samples: dict[str, list[float]] = {}
        self.timeouts: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self.lock = threading.Lock()
        self.turn = 0

    def timed(
        self, name: str, client: httpx.Client, method: str, url: str, **kw: Any
    ) -> httpx.Response | None:
        """One request, its time recorded under `name` (None when it timed out or failed)."""
        started = time.perf_counter()
        try:
            response = client.request(method, url, **kw)
        except httpx.TimeoutException:  # counted at the timeout, a lower bound, and reported apart
            with self.lock:
                self.samples.setdefault(name, []).append(time.perf_counter() - started)
                self.timeouts[name] = self.timeouts.get(name, 0) + 1
            return None
        elapsed = time.perf_counter() - started
        with self.lock:
            self.samples.setdefault(name, []).append(elapsed)
            if response.is_error:  # counted and reported by status, so that one failure ends no run
                key = f"{name} {response.status_code}"
                self.errors[key] = self.errors.get(key, 0) + 1
                return None
        return response

    def visit(self, index: int, feed_label: str, event_label: str = "event") -> None:
        """One reader's feed, then one event on an item of it."""
        client = self.clients[index]
        feed = self.timed(feed_label, client, "GET", "/api/v1/feed?limit=20")
        items = feed.json()["items"] if feed is not None else []
        if items:
            with self.lock:
                self.turn += 1
                kind = EVENT_KINDS[self.turn % len(EVENT_KINDS)]
            item = items[self.turn % len(items)]
            body = {"article_id": item["article_id"], "kind": kind}
            if kind == "read":
                body["dwell_seconds"] = 45.0
            self.timed(event_label, client, "POST", "/api/v1/events", json=body)

    def close(self) -> None:
        """Close every client."""
        for client in self.clients:
            client.close()


def wait_ready(base: str, timeout: float = 900.0) -> float:
    """Seconds until /healthz answers and reports the candidate pool warm (servers without the flag: 200)."""
    started = time.perf_counter()
    with httpx.Client(timeout=10) as client:
        while time.perf_counter() - started < timeout:
            try:
                health = client.get(f"{base}/healthz")
                if health.status_code == 200 and health.json().get("pool_ready", True):
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    raise TimeoutError("the server did not become ready")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process has used so far (from /proc; 0 where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    base: str, tokens: list[str], ingester: Ingester, rounds: int, pid: int, concurrent: int = 40
) -> dict[str, Any]:
    """The readers' phases: cold, warm rounds with ingestion alongside, search/latest, then concurrency.

    Also the server's CPU milliseconds per request in the cold and warm phases (feeds and events together;
    the warm phase includes folding in the ingested articles): unlike wall time, it does not depend on what
    else the machine is running.
    """
    readers = Readers(base, tokens)
    cpu: dict[str, float] = {}
    try:
        before = cpu_seconds(pid)
        for i in range(len(tokens)):
            readers.visit(i, "feed_cold", "event_cold")
        cpu["cold"] = (cpu_seconds(pid) - before) / (2 * len(tokens))
        before = cpu_seconds(pid)
        ingester.start()
        seen_batches = 0
        for _ in range(rounds):
            for i in range(len(tokens)):
                fresh = ingester.batches > seen_batches
                seen_batches = ingester.batches
                readers.visit(i, "feed_after_ingest" if fresh else "feed_warm")
        ingester.stop.set()
        ingester.join()
        warm_requests = sum(
            len(readers.samples.get(k, [])) for k in ("feed_warm", "feed_after_ingest", "event")
        )
        cpu["warm"] = (cpu_seconds(pid) - before) / max(1, warm_requests)
        client = readers.clients[0]
        for q in ("synthetic", "headline", "body"):
            for _ in range(5):
                readers.timed("search", client, "GET", "/api/v1/search", params={"q": q})
        for _ in range(20):
            readers.timed("latest", client, "GET", "/latest")
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(
                pool.map(
                    lambda i: readers.visit(i % len(tokens), "concurrent_feed", "concurrent_event"),
                    range(concurrent),
                )
            )
        wall = time.perf_counter() - started
        out: dict[str, Any] = {name: summary(values) for name, values in sorted(readers.samples.items())}
        if concurrent:
            out["concurrent_feed"]["requests_per_s"] = round(
                len(readers.samples["concurrent_feed"]) / wall, 1
            )
        out["server_cpu_ms_per_request"] = {k: round(v * 1000, 1) for k, v in cpu.items()}
        out["timeouts"] = readers.timeouts
        out["errors"] = readers.errors
        out["ingest_batches"] = ingester.batches
        out["ingest_failures"] = ingester.errors[:5]
        out["ingest_batch_write"] = summary(ingester.seconds)
        return out
    finally:
        readers.close()


def main() -> None:
    """Build (once) or copy the store, serve it, measure, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--store", type=Path, help="directory holding (or to receive) the built store")
    parser.add_argument("--readers", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ingest-batch", type=int, default=50)
    parser.add_argument("--ingest-every", type=float, default=5.0)
    parser.add_argument(
        "--join-share", type=float, default=0.0, help="share of new articles joining a recent story"
    )
    parser.add_argument("--concurrent", type=int, default=40, help="visits by 8 clients at once (0: none)")
    parser.add_argument(
        "--database-url", help="a PostgreSQL database to build into (when it holds no article) and serve"
    )
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="tidings-http-"))
    store = args.store or home / "built"
    started = time.perf_counter()
    from tidings.store.engine import make_engine, migrate

    env = {
        **os.environ,
        "TIDINGS_HOME": str(home),
        "TIDINGS_BACKGROUND_REFRESH": "0",
        "TIDINGS_SUBSCRIBE_STARTER": "0",
    }
    if args.database_url:  # PostgreSQL: built in place once, readers added under a fresh prefix each run
        engine = make_engine(args.database_url)
        migrate(engine)
        with engine.connect() as conn:
            from tidings.store.articles import count_articles

            empty = count_articles(conn) == 0
        if empty:
            build_store(home, args.articles, database_url=args.database_url)
        built = time.perf_counter() - started
        env["TIDINGS_DATABASE_URL"] = args.database_url
        prefix = f"reader{int(time.time())}-"
    else:
        if not (store / "tidings.db").exists():
            build_store(store, args.articles)
        built = time.perf_counter() - started
        shutil.copy(store / "tidings.db", home / "tidings.db")
        engine = make_engine(f"sqlite:///{home / 'tidings.db'}")
        migrate(engine)  # a store built by an older version gains the current schema before readers are added
        prefix = "reader"
    tokens = add_readers(engine, args.readers, prefix=prefix)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tidings", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        ready = wait_ready(base)
        ingester = Ingester(engine, args.ingest_batch, args.ingest_every, args.join_share)
        results = measure(base, tokens, ingester, args.rounds, server.pid, args.concurrent)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)
    print(
        json.dumps(
            {
                "articles": args.articles,
                "database": engine.dialect.name,
                "readers": args.readers,
                "rounds": args.rounds,
                "join_share": args.join_share,
                "build_seconds": round(built, 1),
                "ready_seconds": round(ready, 1),
                **results,
                "cpu": cpu_model(),
                "cores": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
