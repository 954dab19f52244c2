"""A load and fault test on loopback: PostgreSQL, 2 web processes, 2 workers, simulated readers, kills.

Usage: python bench/load.py [--readers 200] [--seconds 60] [--data DIR ...] [--articles N] [--no-enrich]

It starts a throw-away PostgreSQL cluster (initdb; as root it runs as the `postgres` user), serves the demo
corpus (../shared/data/demo-corpus; other folders with --data) as RSS feeds from a loopback server
(bench/feedserver.py), subscribes to them, and runs `tidings serve --workers 2` and two `tidings worker`
processes with TIDINGS_TASK_QUEUE=procrastinate. Simulated readers each ask for their feed, send read or hide
events on a few items, and wait 2-10 s, while the workers ingest (the readers start once --warm articles
are stored). A third of the way in, a worker is SIGKILLed (and a new one started); half-way, PostgreSQL is
restarted. A worker that ends on its own is started again 5 s later and reported, as the systemd unit
does. At the end it waits for ingestion to finish and checks that every feed item served is stored exactly
once and every event that got a 2xx is stored. Prints one JSON document: readers, requests/s, p50/p95/p99 per
endpoint (and the feed's p95 per 10 s), errors by kind (and whether any 5xx fell outside the restart window),
ingest throughput, the checks, and the CPU-seconds the web processes, the workers and PostgreSQL used while
the readers ran.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from feedserver import FeedServer, read_articles
from pgserver import Postgres, free_port, queue_environment
from queue_throughput import CpuSampler, cpu_model

RESTART_SECONDS = 5.0  # the systemd units' RestartSec
DEMO = Path(__file__).resolve().parents[2] / "shared" / "data" / "demo-corpus"


def environment(url: str, home: Path, enrich: bool) -> dict[str, str]:
    """The settings every Tidings process of the run shares."""
    return {
        **queue_environment(url, home, enrich, tick_seconds=2),
        "TIDINGS_TASK_STALLED_SECONDS": "10",
        "TIDINGS_SECRET_KEY": "load-test-key-" + "0" * 40,
    }


def setup(env: dict[str, str], feeds: list[str], readers: int) -> list[tuple[int, str]]:
    """Migrate, subscribe to the feeds and create onboarded readers; returns their ids and API tokens."""
    from sqlalchemy import update

    from tidings.config import Settings
    from tidings.pipeline.subscriptions import subscribe_url
    from tidings.store import users as user_repo
    from tidings.store.tables import users
    from tidings.tasks.app import prepare

    engine = prepare(Settings(database_url=env["TIDINGS_DATABASE_URL"], home=Path(env["TIDINGS_HOME"])))
    for url in feeds:
        subscribe_url(engine, url)
    tokens = []
    with engine.begin() as conn:
        for i in range(readers):
            user_id = user_repo.create_user(conn, f"reader{i}", None)
            conn.execute(update(users).where(users.c.id == user_id).values(onboarded=True))
            tokens.append((user_id, user_repo.create_token(conn, user_id, "load")[1]))
    engine.dispose()
    return tokens


class Run:
    """The samples, errors and accepted events of the simulated readers."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}
        self.timeline: list[tuple[float, str, float]] = []  # (wall time at the answer, endpoint, seconds)
        self.errors: dict[str, int] = {}
        self.error_times: list[tuple[float, str]] = []
        self.events: list[tuple[int, int, str]] = []  # (user id, article id, kind) answered with a 2xx
        self.active = 0

    async def request(
        self, client: aiohttp.ClientSession, name: str, method: str, url: str, **kw: Any
    ) -> Any:
        """One timed request; errors are counted by endpoint and kind (status code or exception). Returns the
        decoded JSON body of a 2xx answer, else None."""
        started = time.perf_counter()
        try:
            async with client.request(method, url, **kw) as response:
                body = await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            self._error(name, type(exc).__name__)
            return None
        took = time.perf_counter() - started
        self.samples.setdefault(name, []).append(took)
        self.timeline.append((time.time(), name, took))
        if status >= 400:
            self._error(name, str(status))
            return None
        return json.loads(body) if body else {}

    def _error(self, name: str, kind: str) -> None:
        key = f"{name} {kind}"
        self.errors[key] = self.errors.get(key, 0) + 1
        self.error_times.append((time.time(), kind))


async def reader(run: Run, client: aiohttp.ClientSession, index: int, token: str, until: float) -> None:
    """Ask for the feed, read or hide a few items, wait 2-10 s; until the end of the run."""
    rng = random.Random(index)
    await asyncio.sleep(rng.uniform(0, 10))  # readers arrive over the first seconds
    auth = {"headers": {"Authorization": f"Bearer {token}"}}
    run.active += 1
    while time.time() < until:
        feed = await run.request(client, "GET /api/v1/feed", "GET", "/api/v1/feed?limit=20", **auth)
        items = feed.get("items", []) if feed is not None else []
        for item in rng.sample(items, min(len(items), rng.randint(1, 3))):
            kind = rng.choice(["read", "read", "hide"])
            body: dict[str, Any] = {"article_id": item["article_id"], "kind": kind}
            if kind == "read":
                body["dwell_seconds"] = rng.uniform(5, 90)
            ok = await run.request(client, "POST /api/v1/events", "POST", "/api/v1/events", json=body, **auth)
            if ok is not None:
                run.events.append((index, item["article_id"], kind))
        await asyncio.sleep(rng.uniform(2, 10))


async def loop_lag(until: float, lags: list[float]) -> None:
    """How late this process's event loop wakes from a 0.1 s sleep: when the client itself is starved of
    CPU, every latency it measures grows by as much, so the report gives this beside them."""
    while time.time() < until:
        asked = time.perf_counter()
        await asyncio.sleep(0.1)
        lags.append(time.perf_counter() - asked - 0.1)


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A Tidings process; its stderr goes to a log file in TIDINGS_HOME/logs (kept when --keep-logs)."""
    logs = Path(env["TIDINGS_HOME"]) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / f"{command[3]}-{time.time():.0f}-{random.randrange(10**6)}.log"
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=path.open("wb"))
    proc.log_path = str(path)  # type: ignore[attr-defined]
    return proc


def exit_report(proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    """How a process ended: its exit code and the last lines of its log."""
    log = Path(getattr(proc, "log_path", ""))
    tail = log.read_text(errors="replace").splitlines()[-15:] if log.is_file() else []
    return {"returncode": proc.returncode, "log_tail": tail}


async def supervise(
    workers: list[subprocess.Popen[bytes]],
    start_worker: Callable[[], subprocess.Popen[bytes]],
    restarts: list[dict[str, Any]],
) -> None:
    """Start again, 5 s later, any worker that ends on its own, as the systemd unit does (Restart=always,
    RestartSec=5); each exit is reported. A worker that cannot reach PostgreSQL at start exits with that
    error, so a replacement started during the restart depends on this, as it would in production."""
    while True:
        await asyncio.sleep(1.0)
        for i, proc in enumerate(workers):
            if proc.poll() is not None:
                restarts.append(exit_report(proc))
                await asyncio.sleep(RESTART_SECONDS)
                workers[i] = start_worker()


def wait_healthy(base: str, timeout: float = 300) -> None:
    """Until /healthz answers 200."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("the web processes did not start")


def stored_urls(url: str) -> dict[str, int]:
    """How many stored articles carry each URL."""
    from sqlalchemy import create_engine, func, select

    from tidings.store.tables import articles

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(articles.c.url, func.count()).group_by(articles.c.url)).all()
    engine.dispose()
    return {str(u): int(n) for u, n in rows}


def stored_events(url: str) -> set[tuple[int, int, str]]:
    """(user id, article id, kind) of the stored events."""
    from sqlalchemy import create_engine, select

    from tidings.store.tables import events

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(events.c.user_id, events.c.article_id, events.c.kind)).all()
    engine.dispose()
    return {(int(u), int(a or 0), str(k)) for u, a, k in rows}


def job_counts(url: str) -> dict[str, int]:
    """How many procrastinate jobs ended in each status, per task ("task status": n)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT task_name, status, count(*) FROM procrastinate_jobs GROUP BY 1, 2")
        ).all()
    engine.dispose()
    return {f"{task} {status}": int(n) for task, status, n in rows}


def missing_by_feed(server: FeedServer, counts: dict[str, int]) -> dict[str, int]:
    """Feed path -> how many of its served items are not stored (to tell one lost job from many)."""
    found: dict[str, int] = {}
    for path, items in server.feeds.items():
        lost = sum(1 for _, _, link in items if link in server.served and link not in counts)
        if lost:
            found[path] = lost
    return found


def percentiles(samples: list[float]) -> dict[str, float]:
    """n, p50, p95, p99 in milliseconds."""
    if len(samples) < 2:
        return {"n": len(samples)}
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {
        "n": len(samples),
        "p50": round(1000 * cuts[49], 1),
        "p95": round(1000 * cuts[94], 1),
        "p99": round(1000 * cuts[98], 1),
    }


def by_window(
    timeline: list[tuple[float, str, float]], name: str, began: float, width: float
) -> list[float | None]:
    """p95 in milliseconds of one endpoint's answers in each `width`-second window from the start (to tell a
    steady latency from one fault's burst); None for a window where fewer than two answers ended, which is a
    stall, not a fast window."""
    windows: dict[int, list[float]] = {}
    for at, endpoint, took in timeline:
        if endpoint == name:
            windows.setdefault(int((at - began) // width), []).append(took)
    return [percentiles(windows.get(i, [])).get("p95") for i in range(max(windows, default=-1) + 1)]


def main() -> None:
    """Run the load and fault test and print the report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--data", type=Path, action="append", default=None)
    parser.add_argument("--articles", type=int, default=2000, help="at most this many articles served")
    parser.add_argument("--feeds", type=int, default=40)
    parser.add_argument("--no-enrich", action="store_true")
    parser.add_argument("--warm", type=int, default=100, help="articles stored before the readers start")
    parser.add_argument("--keep-logs", action="store_true", help="keep the web and worker processes' stderr")
    parser.add_argument("--pg-port", type=int, default=0, help="the throw-away cluster's port (0: any free)")
    parser.add_argument("--keep-db", action="store_true", help="leave the cluster running, for inspection")
    parser.add_argument("--drain", type=float, default=900, help="seconds to wait for ingestion to finish")
    args = parser.parse_args()
    folders = args.data or [DEMO]
    corpus = [a for folder in folders for a in read_articles(folder, args.articles)][: args.articles]
    if not corpus:
        raise SystemExit(f"no articles found in {folders}")
    report = asyncio.run(load(args, corpus))
    print(json.dumps(report))


async def load(args: argparse.Namespace, corpus: list[tuple[str, str]]) -> dict[str, Any]:
    """Start everything, run the readers and the faults, then check and report."""
    pg = Postgres(args.pg_port)
    server = FeedServer(corpus, args.feeds).start()
    home = Path(tempfile.mkdtemp(prefix="tidings-load-home-"))
    env = environment(pg.url, home, not args.no_enrich)
    tokens = setup(env, server.feed_urls, args.readers)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    tidings = [sys.executable, "-m", "tidings"]
    web = start([*tidings, "serve", "--workers", "2", "--port", str(port)], env)
    workers = [start([*tidings, "worker"], env) for _ in range(2)]
    faults: dict[str, Any] = {}
    restarts: list[dict[str, Any]] = []
    supervisor: asyncio.Task[None] | None = None
    load_before = os.getloadavg()
    try:
        wait_healthy(base)
        warm_began = time.time()
        await asyncio.to_thread(wait_stored, pg.url, args.warm, args.drain)
        faults["warm_up_s"] = round(time.time() - warm_began, 1)
        run = Run()
        web_cpu = CpuSampler([web.pid], 1.0, since_now=True)
        worker_cpu = CpuSampler([p.pid for p in workers], 1.0, since_now=True)
        pg_cpu = CpuSampler([], 1.0, since_now=True, roots_from=pg.server_pids)

        def restart_worker() -> subprocess.Popen[bytes]:
            proc = start([*tidings, "worker"], env)
            worker_cpu.roots.add(proc.pid)
            return proc

        supervisor = asyncio.create_task(supervise(workers, restart_worker, restarts))
        began = time.time()
        until = began + args.seconds
        # One client for every reader: a client each meant 200 TLS contexts built on the loop at the start,
        # which stalled this process (and so every latency it measured) by tens of seconds. aiohttp, not
        # httpx: the client shares the 2 cores with the servers, and httpx took 60% of one at 200 readers.
        client = aiohttp.ClientSession(
            base_url=base, timeout=aiohttp.ClientTimeout(total=30), connector=aiohttp.TCPConnector(limit=0)
        )
        lags: list[float] = []
        tasks = [asyncio.create_task(reader(run, client, uid, token, until)) for uid, token in tokens]
        tasks.append(asyncio.create_task(loop_lag(until, lags)))
        await asyncio.sleep(args.seconds / 3)
        # No await between the kill and the replacement, so the supervisor never sees the killed worker.
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait()
        faults["worker_killed_at_s"] = round(time.time() - began, 1)
        workers[0] = restart_worker()
        await asyncio.sleep(max(0.0, began + args.seconds / 2 - time.time()))
        restart_began = time.time()
        await asyncio.to_thread(pg.ctl, "restart")
        restart_ended = time.time()
        faults["postgres_restart"] = {
            "at_s": round(restart_began - began, 1),
            "seconds": round(restart_ended - restart_began, 2),
        }
        await asyncio.gather(*tasks)
        ended = time.time()
        await client.close()
        load_during = os.getloadavg()
        cpu = {"web_processes": web_cpu.stop(), "workers": worker_cpu.stop(), "postgresql": pg_cpu.stop()}
        drained = await asyncio.to_thread(drain, pg.url, server, args.drain)
        ingest_end = time.time()
        counts = stored_urls(pg.url)
        events = stored_events(pg.url)
        jobs = job_counts(pg.url)
    finally:
        if supervisor is not None:
            supervisor.cancel()
        alive = sum(1 for proc in workers if proc.poll() is None)
        exited = [exit_report(proc) for proc in workers if proc.poll() is not None]
        for proc in [web, *workers]:
            proc.terminate()
        for proc in [web, *workers]:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        server.stop()
        if args.keep_db:
            print(f"PostgreSQL left running at {pg.url} (data in {pg.data})", file=sys.stderr)
        else:
            pg.remove()
        if args.keep_logs:
            print(f"process logs kept in {home / 'logs'}", file=sys.stderr)
        else:
            shutil.rmtree(home, ignore_errors=True)
    window = (restart_began - 1, restart_ended + 5)  # the restart plus the pools' reconnection
    # A 5xx or a network error (no answer at all) counts against the window; a 4xx is the reader's own.
    outside = [
        kind for t, kind in run.error_times if not kind.startswith("4") and not window[0] <= t <= window[1]
    ]
    failing = [t - restart_began for t, kind in run.error_times if not kind.startswith("4")]
    faults["failed_requests_span_s"] = (
        {"first": round(min(failing), 1), "last": round(max(failing), 1)} if failing else None
    )  # seconds after the restart began: how long readers saw 5xx or no answer
    served = server.served
    missing_events = [e for e in run.events if e not in events]
    total = sum(len(v) for v in run.samples.values())
    return {
        "readers": args.readers,
        "readers_active": run.active,
        "seconds": round(ended - began, 1),
        "requests": total,
        "requests_per_second": round(total / (ended - began), 1),
        "latency_ms": {name: percentiles(v) for name, v in sorted(run.samples.items())},
        "feed_p95_ms_by_10s": by_window(run.timeline, "GET /api/v1/feed", began, 10.0),
        "errors": run.errors,
        "client_loop_lag_ms": percentiles(lags),
        "workers_alive_at_end": alive,
        "workers_exited": exited,  # a worker that ended on its own: its exit code and the end of its log
        "workers_restarted": restarts,  # ended on their own and started again 5 s later, as systemd would
        "errors_5xx_or_network_outside_restart_window": len(outside),
        "faults": faults,
        "articles_served": len(served),
        "articles_stored": sum(counts.values()),
        "ingest_articles_per_second": round(sum(counts.values()) / (ingest_end - began), 2),
        "ingest_drained": drained,
        "every_item_stored_once": all(counts.get(u) == 1 for u in served),
        "items_missing": sum(1 for u in served if u not in counts),
        "items_duplicated": sum(1 for u in served if counts.get(u, 0) > 1),
        "items_missing_by_feed": missing_by_feed(server, counts),
        "jobs": jobs,
        "events_accepted": len(run.events),
        "events_missing": len(missing_events),
        "enrich": not args.no_enrich,
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_at_readers_end": [round(x, 2) for x in load_during],
        # CPU-seconds used while the readers ran, against the wall time times the cores there are
        "cpu_seconds": {k: round(v, 1) for k, v in cpu.items()},
        "cpu_seconds_available": round((ended - began) * (os.cpu_count() or 1), 1),
    }


def wait_stored(url: str, count: int, timeout: float) -> None:
    """Until `count` articles are stored, so that the readers' feeds are not empty at the start."""
    deadline = time.time() + timeout
    while time.time() < deadline and sum(stored_urls(url).values()) < count:
        time.sleep(1)


def drain(url: str, server: FeedServer, timeout: float) -> bool:
    """Wait until every item served is stored (the workers keep ingesting after the readers stop)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            counts = stored_urls(url)
        except Exception:
            counts = {}
        if (
            server.served
            and all(u in counts for u in server.served)
            and len(server.hits) >= len(server.feeds)
        ):
            return True
        time.sleep(1)
    return False


if __name__ == "__main__":
    main()
