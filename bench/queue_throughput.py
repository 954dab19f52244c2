"""Ingest throughput through the task queue vs the single-process pipeline, same corpus, same run.

Usage: python bench/queue_throughput.py [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
           [--data DIR] [--articles 300] [--feeds 30] [--workers 2] [--concurrency 1] [--no-enrich]

A loopback server (bench/feedserver.py) serves the articles (default: the BBC News files) as RSS feeds with
full text. Each mode gets a fresh PostgreSQL database (on --pg-url's server, or TIDINGS_TEST_POSTGRES_URL's,
else on a throw-away cluster of its own, bench/pgserver.py), subscribes to every feed, and then:
- single: `tidings fetch` (one process, refreshing each due feed in turn, as `serve` does in-process);
- queue: `--workers` `tidings worker` processes (TIDINGS_TASK_QUEUE=procrastinate), until every article is
  stored.
Both clocks run from process start (model loading included) to the last article stored. CPU time is the
user+system time of the Tidings processes and their children (the NER worker), sampled from /proc; the
database server's own CPU is not included. Prints one JSON document. (Not named queue.py: that would shadow
the standard library's queue module when run as a script.)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from feedserver import FeedServer, read_articles
from pgserver import Postgres, queue_environment

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "bbc-news"
TICK = os.sysconf("SC_CLK_TCK")


def proc_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds used) for every process."""
    table: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK)
    return table


class CpuSampler:
    """Track the CPU time of process trees by sampling /proc (the last sample of each process counts).

    With `since_now`, only CPU used after construction counts (processes already running, such as servers that
    loaded their models earlier, start from their current total). `roots_from` is asked for more roots at each
    sample (a server restarted under a new pid).
    """

    def __init__(
        self,
        roots: list[int],
        interval: float = 0.2,
        since_now: bool = False,
        roots_from: Callable[[], Iterable[int]] | None = None,
    ) -> None:
        self.roots, self.seen = set(roots), {}  # type: ignore[var-annotated]
        self.interval, self.roots_from = interval, roots_from
        self.base: dict[int, float] = {}
        if since_now:
            self.sample()
            self.base = dict(self.seen)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def sample(self) -> None:
        """Record the CPU time of every process under the roots."""
        if self.roots_from is not None:
            self.roots.update(self.roots_from())
        table = proc_table()
        for pid, (_, cpu) in table.items():
            ancestor = pid
            while ancestor and ancestor not in self.roots:
                ancestor = table.get(ancestor, (0, 0.0))[0]
            if ancestor:
                self.seen[pid] = max(cpu, self.seen.get(pid, 0.0))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def stop(self) -> float:
        """Take a last sample and return the total CPU seconds."""
        self.sample()
        self._stop.set()
        return float(sum(cpu - self.base.get(pid, 0.0) for pid, cpu in self.seen.items()))


def database(admin_url: str) -> str:
    """A new database on the server; returns its URL."""
    from sqlalchemy import create_engine, text

    name = f"tidings_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def environment(url: str, home: Path, enrich: bool) -> dict[str, str]:
    """The Tidings settings of both modes."""
    return queue_environment(url, home, enrich, tick_seconds=1)


def prepare(env: dict[str, str], feeds: list[str]) -> Any:
    """Migrate, apply the queue schema and subscribe to every feed; returns the engine."""
    from tidings.config import Settings
    from tidings.pipeline.subscriptions import subscribe_url
    from tidings.tasks.app import prepare as prepare_queue

    settings = Settings(database_url=env["TIDINGS_DATABASE_URL"], home=Path(env["TIDINGS_HOME"]))
    engine = prepare_queue(settings)
    for url in feeds:
        subscribe_url(engine, url)
    return engine


def stored(engine: Any) -> int:
    """Articles in the store."""
    from sqlalchemy import func, select

    from tidings.store.tables import articles

    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(articles)).scalar_one())


def run_single(env: dict[str, str], engine: Any) -> dict[str, Any]:
    """`tidings fetch` in one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tidings", "fetch", "--json"], env=env, stdout=subprocess.PIPE
    )
    sampler = CpuSampler([proc.pid])
    proc.communicate()
    cpu = sampler.stop()
    return {"seconds": time.perf_counter() - start, "cpu_seconds": cpu, "articles": stored(engine)}


def run_queue(
    env: dict[str, str], engine: Any, expect: int, workers: int, concurrency: int, timeout: float
) -> dict[str, Any]:
    """`workers` worker processes until `expect` articles are stored (or the timeout)."""
    start = time.perf_counter()
    command = [sys.executable, "-m", "tidings", "worker", "--concurrency", str(concurrency)]
    procs = [subprocess.Popen(command, env=env) for _ in range(workers)]
    sampler = CpuSampler([p.pid for p in procs])
    count = 0
    while time.perf_counter() - start < timeout:
        count = stored(engine)
        if count >= expect:
            break
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    cpu = sampler.stop()
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(timeout=30)
    return {"seconds": seconds, "cpu_seconds": cpu, "articles": count}


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    """Rounded figures plus throughput and CPU per article."""
    n = max(result["articles"], 1)
    return {
        "articles": result["articles"],
        "seconds": round(result["seconds"], 2),
        "articles_per_second": round(result["articles"] / result["seconds"], 2),
        "cpu_seconds": round(result["cpu_seconds"], 2),
        "cpu_ms_per_article": round(1000 * result["cpu_seconds"] / n, 1),
    }


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def main() -> None:
    """Run both modes on the same corpus and print the comparison."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pg-url", default=os.environ.get("TIDINGS_TEST_POSTGRES_URL", ""))
    parser.add_argument("--data", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--feeds", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--no-enrich", action="store_true")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    if not args.data.exists():
        raise SystemExit(f"data not found: {args.data}")
    import tempfile

    own = None if args.pg_url else Postgres()
    pg_url = args.pg_url or (own.url if own else "")
    server = FeedServer(read_articles(args.data, args.articles), args.feeds).start()
    enrich = not args.no_enrich
    results: dict[str, Any] = {}
    try:
        for mode in ("single", "queue"):
            env = environment(database(pg_url), Path(tempfile.mkdtemp(prefix=f"tidings-{mode}-")), enrich)
            engine = prepare(env, server.feed_urls)
            if mode == "single":
                results[mode] = summarise(run_single(env, engine))
            else:
                expect = results["single"]["articles"]
                results[mode] = summarise(
                    run_queue(env, engine, expect, args.workers, args.concurrency, args.timeout)
                )
            engine.dispose()
    finally:
        server.stop()
        if own is not None:
            own.remove()
    ratio = results["queue"]["articles_per_second"] / max(results["single"]["articles_per_second"], 1e-9)
    print(
        json.dumps(
            {
                "data": str(args.data.name),
                "articles_served": sum(len(v) for v in server.feeds.values()),
                "feeds": len(server.feeds),
                "enrich": enrich,
                "workers": args.workers,
                "concurrency": args.concurrency,
                "cores": os.cpu_count(),
                "cpu": cpu_model(),
                **results,
                "queue_vs_single_throughput": round(ratio, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
