"""The task queue on a real PostgreSQL with real loopback feeds: refresh, retries, locks, kills, errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.ingest.conftest import LoopbackServer, send_bytes
from tests.ingest.conftest import server as server  # the loopback server fixture
from tests.live import running, sign_up
from tests.pgcluster import Cluster
from tests.tasks.conftest import QUEUE_ENV, needs_postgres, queue_settings, start_worker, stop
from tests.tasks.conftest import cluster as cluster  # a PostgreSQL cluster of our own
from tidings.config import Settings
from tidings.pipeline.subscriptions import subscribe_url
from tidings.store import tasks as task_repo
from tidings.store.tables import articles
from tidings.tasks.app import make_app, prepare, run_worker
from tidings.tasks.jobs import REFRESH_FEED, TICK, feed_lock

pytestmark = needs_postgres


def in_fresh_thread(work: Callable[[], object]) -> None:
    """Run work in a thread of its own, re-raising what it raised: asyncio.run (procrastinate's worker uses
    it too) refuses a thread where an earlier test left an event loop marked as running."""
    errors: list[BaseException] = []

    def guarded() -> None:
        try:
            work()
        except BaseException as exc:  # re-raised in the test's thread below
            errors.append(exc)

    thread = threading.Thread(target=guarded, name="queue-test")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def drain(settings: Settings) -> None:
    """Run queued jobs until the queue is idle."""
    in_fresh_thread(lambda: run_worker(settings, wait=False))


def feed_xml(base: str, name: str, n: int = 2) -> bytes:
    """An RSS feed of n short items written for these tests."""
    items = "".join(
        f"<item><title>{name} notice {i}</title><link>{base}/{name}/item/{i}</link>"
        f"<description>The {name} committee met on day {i} and agreed to repaint the harbour railings "
        f"before the regatta, the secretary said.</description></item>"
        for i in range(1, n + 1)
    )
    channel = f"<channel><title>{name}</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


def serve_feed(server: LoopbackServer, name: str) -> str:
    """Add a feed route to the loopback server; returns its URL."""
    server.routes[f"/{name}.xml"] = lambda h: send_bytes(h, 200, feed_xml(server.url(""), name))
    return server.url(f"/{name}.xml")


def serve_slow_feed(server: LoopbackServer, name: str) -> tuple[str, threading.Event, threading.Event]:
    """A feed route that answers only once `release` is set; `arrived` is set when a fetch reaches it.
    Returns the feed's URL and the two events."""
    arrived, release = threading.Event(), threading.Event()

    def slow(handler: BaseHTTPRequestHandler) -> None:
        arrived.set()
        release.wait(30)
        send_bytes(handler, 200, feed_xml(server.url(""), name))

    server.routes[f"/{name}.xml"] = slow
    return server.url(f"/{name}.xml"), arrived, release


def count_articles(engine: object) -> int:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(select(func.count()).select_from(articles)).scalar_one())


def wait_for(check: object, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.25)
    return False


def test_a_task_refreshes_a_feed_end_to_end(tmp_path: Path, pg_url: str, server: LoopbackServer) -> None:
    settings = queue_settings(tmp_path, pg_url)
    engine = prepare(settings)
    source = subscribe_url(engine, serve_feed(server, "rowing"))
    app = make_app(settings, engine)
    with app.open():
        lock = feed_lock(source["id"])
        app.configure_task(REFRESH_FEED, lock=lock, queueing_lock=lock).defer(source_id=source["id"])
    drain(settings)
    assert count_articles(engine) == 2
    assert server.hits("/rowing.xml") == 1
    with engine.connect() as conn:
        assert [j["status"] for j in task_repo.jobs_of(conn, REFRESH_FEED)] == ["succeeded"]
    assert prepare(settings) is engine  # the queue schema is applied once; a second start changes nothing


def test_a_poison_task_is_retried_then_shown_failed_on_the_admin_page(tmp_path: Path, pg_url: str) -> None:
    from tidings.web.app import create_app

    settings = queue_settings(tmp_path, pg_url)
    engine = prepare(settings)
    app = make_app(settings, engine)
    with app.open():
        app.configure_task(REFRESH_FEED).defer(source_id="feed-seven")  # a malformed job

    def failed() -> bool:
        drain(settings)
        with engine.connect() as conn:
            return [j["status"] for j in task_repo.jobs_of(conn, REFRESH_FEED)] == ["failed"]

    assert wait_for(failed, 60)
    with engine.connect() as conn:
        job = task_repo.jobs_of(conn, REFRESH_FEED)[0]
        dead = task_repo.failed_jobs(conn)
    assert job["attempts"] == settings.task_max_attempts
    assert [d["id"] for d in dead] == [job["id"]] and "feed-seven" in dead[0]["error"]
    web = create_app(settings.model_copy(update={"task_queue": "inprocess"}))
    with running(web) as base, httpx.Client(base_url=base) as client:
        assert sign_up(client, "admin").status_code in (200, 303)  # the first account is the admin
        page = client.get("/admin")
    assert page.status_code == 200
    assert "Failed tasks" in page.text and REFRESH_FEED in page.text and "feed-seven" in page.text


def test_two_schedulers_and_two_workers_fetch_each_feed_once(
    tmp_path: Path, pg_url: str, server: LoopbackServer
) -> None:
    settings = queue_settings(tmp_path, pg_url)
    engine = prepare(settings)
    names = [f"club{i}" for i in range(8)]
    for name in names:
        subscribe_url(engine, serve_feed(server, name))
    workers = [start_worker(tmp_path, pg_url, "--concurrency", "2") for _ in range(2)]
    try:
        # Workers step back for web requests on a shared machine (TIDINGS_WORKER_NICE, default 10).
        wanted = min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
        assert wait_for(lambda: all(os.getpriority(os.PRIO_PROCESS, p.pid) == wanted for p in workers), 30)
        assert wait_for(lambda: count_articles(engine) == 2 * len(names), 180)
        time.sleep(5)  # several more ticks from both schedulers: none may fetch a feed again
    finally:
        for proc in workers:
            stop(proc)
    logs = [p.read_text() for p in tmp_path.glob("worker-*.log")]
    assert all(proc.returncode == 0 for proc in workers), logs
    assert {name: server.hits(f"/{name}.xml") for name in names} == dict.fromkeys(names, 1)
    with engine.connect() as conn:
        ticks = task_repo.jobs_of(conn, TICK)
    # Both workers' schedulers wanted a tick every second; the database let one through per second.
    stamps = [job["args"]["timestamp"] for job in ticks]
    assert len(stamps) >= 4 and len(set(stamps)) == len(stamps)


def test_a_worker_killed_mid_fetch_leaves_the_job_retried_and_stored_once(
    tmp_path: Path, pg_url: str, server: LoopbackServer
) -> None:
    settings = queue_settings(tmp_path, pg_url)
    engine = prepare(settings)
    arrived, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow_then_fine(handler: BaseHTTPRequestHandler) -> None:
        calls.append(1)
        if len(calls) == 1:
            arrived.set()
            release.wait(30)  # the first worker dies while it waits here
            return
        send_bytes(handler, 200, feed_xml(server.url(""), "ferry", n=3))

    server.routes["/ferry.xml"] = slow_then_fine
    subscribe_url(engine, server.url("/ferry.xml"))
    first = start_worker(tmp_path, pg_url)
    try:
        assert arrived.wait(60), "the first worker never fetched the feed"
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    finally:
        release.set()
    second = start_worker(tmp_path, pg_url)
    try:
        assert wait_for(lambda: count_articles(engine) >= 3, 60)
        time.sleep(3)
    finally:
        stop(second)
    with engine.connect() as conn:
        urls = [r[0] for r in conn.execute(select(articles.c.url))]
        jobs = task_repo.jobs_of(conn, REFRESH_FEED)
    assert sorted(urls) == sorted(set(urls)) and len(urls) == 3
    assert "succeeded" in [j["status"] for j in jobs]
    assert not [j for j in jobs if j["status"] in ("doing", "failed")]


def test_worker_with_database_unreachable_says_what_to_do(tmp_path: Path) -> None:
    from tests.live import free_port

    env = {**os.environ, **QUEUE_ENV, "TIDINGS_HOME": str(tmp_path)}
    env["TIDINGS_DATABASE_URL"] = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/tidings"
    result = subprocess.run(
        [sys.executable, "-m", "tidings", "worker"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "cannot reach PostgreSQL at 127.0.0.1:" in result.stderr
    assert "TIDINGS_DATABASE_URL" in result.stderr and "Traceback" not in result.stderr


def test_serve_with_the_queue_only_queues_the_start_up_work(tmp_path: Path, pg_url: str) -> None:
    from tests.live import write_seed
    from tidings.tasks.jobs import STARTUP
    from tidings.web.app import create_app

    seed = write_seed(tmp_path)
    settings = queue_settings(tmp_path, pg_url).model_copy(
        update={"seed_paths": str(seed), "background_refresh": True}
    )
    web = create_app(settings)
    engine = web.state.engine

    def queued() -> bool:
        with engine.connect() as conn:
            return [j["status"] for j in task_repo.jobs_of(conn, STARTUP)] == ["todo"]

    with running(web):
        assert wait_for(queued, 30)
        time.sleep(1)
        assert count_articles(engine) == 0  # the web process ingests nothing itself
    drain(settings)
    assert count_articles(engine) == 4


@pytest.mark.parametrize("down_seconds", [0, 4])
def test_a_worker_outlives_a_postgres_restart(
    tmp_path: Path, cluster: Cluster, server: LoopbackServer, down_seconds: int
) -> None:
    # 0: a plain restart; 4: down for several heartbeat intervals (1 s here), so that the worker's queries
    # wait for the server or fail, and the worker must come back either way rather than exit.
    settings = queue_settings(tmp_path, cluster.url)
    engine = prepare(settings)
    worker = start_worker(tmp_path, cluster.url)
    try:

        def ticking() -> bool:
            with engine.connect() as conn:
                return bool(task_repo.jobs_of(conn, TICK))

        assert wait_for(ticking, 120), "the worker never started"
        engine.dispose()
        if down_seconds:
            cluster.stop()
            time.sleep(down_seconds)
            cluster.start()
        else:
            cluster.restart()
        subscribe_url(engine, serve_feed(server, "choir"))
        assert wait_for(lambda: count_articles(engine) == 2, 120)
        assert worker.poll() is None, "the worker exited after the restart"
    finally:
        stop(worker)
    assert worker.returncode == 0  # SIGTERM still stops it cleanly


def test_a_worker_whose_heartbeat_loses_its_connection_starts_again(
    tmp_path: Path, pg_url: str, server: LoopbackServer
) -> None:
    # procrastinate ends a worker quietly, as after SIGTERM, when its heartbeat query fails. A restart
    # may kill that query mid-flight; here a row lock holds the heartbeat while the test ends its connection.
    import psycopg

    settings = queue_settings(tmp_path, pg_url)
    engine = prepare(settings)
    worker = start_worker(tmp_path, pg_url)
    conninfo = pg_url.replace("postgresql+psycopg", "postgresql")
    try:
        with psycopg.connect(conninfo, autocommit=True) as admin, psycopg.connect(conninfo) as holder:

            def registered() -> list[tuple[int]]:
                return admin.execute("SELECT id FROM procrastinate_workers").fetchall()

            assert wait_for(registered, 120), "the worker never registered"
            # FOR NO KEY UPDATE blocks the heartbeat's UPDATE, not the job fetches' foreign-key checks.
            holder.execute(
                "SELECT 1 FROM procrastinate_workers WHERE id = %s FOR NO KEY UPDATE", registered()[0]
            )
            waiting = (
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query ILIKE '%%heartbeat%%'"
            )
            assert wait_for(lambda: admin.execute(waiting).fetchall(), 30), "no heartbeat waited"
            admin.execute(f"SELECT pg_terminate_backend(pid) FROM ({waiting}) AS w")
            holder.rollback()
        time.sleep(4)
        assert worker.poll() is None, "the worker exited after its heartbeat failed"
        subscribe_url(engine, serve_feed(server, "bellringers"))
        assert wait_for(lambda: count_articles(engine) == 2, 120)
        assert worker.poll() is None
    finally:
        stop(worker)
    assert worker.returncode == 0
    assert "starting it again" in next(tmp_path.glob("worker-*.log")).read_text()


def test_a_job_outcome_lost_with_the_connection_is_written_again(
    tmp_path: Path, pg_url: str, server: LoopbackServer
) -> None:
    # procrastinate writes a job's outcome once; when that write's connection dies (a PostgreSQL restart),
    # the job stayed `doing` under a live worker and its feed's lock was held for good.
    import psycopg

    settings = queue_settings(tmp_path, pg_url)
    engine = prepare(settings)
    url, arrived, release = serve_slow_feed(server, "organ")
    subscribe_url(engine, url)
    worker = start_worker(tmp_path, pg_url)
    conninfo = pg_url.replace("postgresql+psycopg", "postgresql")
    try:
        assert arrived.wait(120), "the worker never fetched the feed"
        with psycopg.connect(conninfo, autocommit=True) as admin, psycopg.connect(conninfo) as holder:
            holder.execute(
                "SELECT 1 FROM procrastinate_jobs WHERE task_name = %s AND status = 'doing' FOR UPDATE",
                [REFRESH_FEED],
            )
            release.set()
            waiting = (
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> %s"
            )
            me = [holder.info.backend_pid]
            assert wait_for(lambda: admin.execute(waiting, me).fetchall(), 60), "no outcome was written"
            admin.execute(f"SELECT pg_terminate_backend(pid) FROM ({waiting}) AS w", me)
            holder.rollback()

        def finished() -> bool:
            with engine.connect() as conn:
                return [j["status"] for j in task_repo.jobs_of(conn, REFRESH_FEED)] == ["succeeded"]

        assert wait_for(finished, 60)
        assert count_articles(engine) == 2 and worker.poll() is None
    finally:
        release.set()
        stop(worker)


def test_a_failed_job_whose_work_is_queued_again_ends_and_frees_the_lock(tmp_path: Path, pg_url: str) -> None:
    # A fetch failed (PostgreSQL restarting) while the scheduler had queued the same feed again: putting the
    # failed job back hit the queueing lock, procrastinate only logged it, and the job stayed `doing`,
    # holding the feed's lock so that the queued copy never ran either.
    import asyncio

    settings = queue_settings(tmp_path, pg_url)
    engine = prepare(settings)
    app = make_app(settings, engine)
    lock = feed_lock(7)

    async def fail_then_requeue() -> None:
        async with app.open_async():
            manager = app.job_manager
            task = app.configure_task(REFRESH_FEED, lock=lock, queueing_lock=lock)
            await task.defer_async(source_id=7)
            worker_id = await manager.register_worker()
            running = await manager.fetch_job(None, worker_id)
            assert running is not None
            await task.defer_async(source_id=7)  # the scheduler's copy, while the first one runs
            await manager.retry_job(running)  # what the worker does when the task raises
            assert await manager.fetch_job(None, worker_id) is not None  # the copy may run now

    in_fresh_thread(lambda: asyncio.run(fail_then_requeue()))
    with engine.connect() as conn:
        assert [j["status"] for j in task_repo.jobs_of(conn, REFRESH_FEED)] == ["aborted", "doing"]


def test_the_scheduler_does_not_queue_a_feed_again_while_it_is_fetched(
    tmp_path: Path, pg_url: str, server: LoopbackServer
) -> None:
    # The feed's next due time used to be written only when its fetch ended, so every tick during a slow fetch
    # queued another copy, which then woke a worker only to find the feed not due.
    from tidings.tasks.jobs import defer_due

    settings = queue_settings(tmp_path, pg_url)
    engine = prepare(settings)
    url, arrived, release = serve_slow_feed(server, "choir")
    subscribe_url(engine, url)
    worker = start_worker(tmp_path, pg_url)

    def job_ids() -> list[int]:
        with engine.connect() as conn:
            return [int(j["id"]) for j in task_repo.jobs_of(conn, REFRESH_FEED)]

    try:
        assert arrived.wait(120), "the worker never fetched the feed"
        while_fetching = job_ids()
        app = make_app(settings, engine)
        with app.open():
            assert defer_due(app, engine, settings) == 0
        time.sleep(3)  # three ticks of the worker's own scheduler
        assert job_ids() == while_fetching
        release.set()
        assert wait_for(lambda: count_articles(engine) == 2, 60)
    finally:
        release.set()
        stop(worker)
