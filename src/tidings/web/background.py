"""Start-up and background work in the server process: seeding, starter feeds and periodic refresh."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from sqlalchemy import Engine

from tidings.config import Settings
from tidings.store.articles import count_articles
from tidings.store.sources import list_sources

log = logging.getLogger(__name__)


class StopRequestedError(Exception):
    """The server is shutting down: start-up ingestion stops between batches."""


def stop_children(wait: float = 5.0) -> None:
    """End the worker processes this server started (the NER worker), so that SIGTERM leaves none behind.

    Once they are gone the interpreter can exit, and multiprocessing's resource tracker, which waits for this
    process to close its pipe, ends with it."""
    import multiprocessing

    from tidings.enrich import ner_worker

    ner_worker.shutdown()
    children = multiprocessing.active_children()
    for child in children:
        child.terminate()
    for child in children:
        child.join(timeout=wait)
        if child.is_alive():
            child.kill()


@dataclass
class Status:
    """What the background worker is doing, shown on pages and /healthz."""

    seeding: bool = False
    seeded: int = 0
    refreshing: bool = False
    pool_ready: bool = False  # the candidate pool is built, so no reader pays for it
    last_refresh: str | None = None
    errors: list[dict[str, str]] = field(default_factory=list)


POOL_POLL_SECONDS = 2.0  # how often the pool thread looks for articles added here or by another process


class Worker:
    """Daemon threads: one seeds an empty database, then refreshes due feeds on an interval; the other
    builds the candidate pool at start and keeps it up to date, so that readers never pay for it."""

    def __init__(self, engine: Engine, settings: Settings, status: Status) -> None:
        self.engine, self.settings, self.status = engine, settings, status
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tidings-refresh", daemon=True)
        self._pool_thread = threading.Thread(target=self._keep_pool, name="tidings-pool", daemon=True)

    def start(self) -> Worker:
        """Start the threads."""
        self._pool_thread.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the threads to stop, end the worker processes, and wait briefly for the threads."""
        self._stop.set()
        stop_children()
        self._thread.join(timeout=2)
        self._pool_thread.join(timeout=2)

    def _keep_pool(self) -> None:
        from tidings.service.candidate_pool import refresh_pool

        while not self._stop.is_set():
            try:
                refresh_pool(self.engine)
                self.status.pool_ready = True
            except Exception:
                log.exception("candidate pool warm-up failed")
            self._stop.wait(POOL_POLL_SECONDS)

    def _run(self) -> None:
        if self.settings.task_queue == "procrastinate":
            self._hand_over()
            return
        try:
            seed_if_empty(self.engine, self.settings, self.status, self._stop)
            subscribe_starter_if_empty(self.engine, self.settings)
        except StopRequestedError:
            return
        except Exception:
            log.exception("start-up ingestion failed")
        while self.settings.background_refresh and not self._stop.is_set():
            self._refresh_once()
            self._stop.wait(self.settings.refresh_interval_seconds)

    def _hand_over(self) -> None:
        """With the task queue, workers fetch and ingest: this process only queues the start-up work."""
        from tidings.tasks.app import defer
        from tidings.tasks.jobs import STARTUP

        try:
            defer(self.settings, STARTUP, lock=STARTUP)
        except Exception:
            log.exception("could not queue the start-up task; is PostgreSQL reachable?")

    def _refresh_once(self) -> None:
        from tidings.pipeline.refresh import refresh_due
        from tidings.store.util import iso, utcnow

        self.status.refreshing = True
        try:
            result = refresh_due(self.engine, self.settings)
            self.status.errors = result["errors"][-50:]
        except Exception:
            log.exception("background refresh failed")
        finally:
            self.status.refreshing = False
            self.status.last_refresh = iso(utcnow())


def start(engine: Engine, settings: Settings, status: Status) -> Worker:
    """Start the background worker for this server process."""
    return Worker(engine, settings, status).start()


def seed_if_empty(
    engine: Engine, settings: Settings, status: Status, stop: threading.Event | None = None
) -> None:
    """Ingest TIDINGS_SEED_PATHS when the database holds no article yet (until `stop` is set)."""
    paths = [str(p) for p in settings.seed_path_list if p.exists()]
    if not paths:
        return
    with engine.connect() as conn:
        if count_articles(conn):
            return
    from tidings.pipeline.ingest import ingest_sources

    status.seeding = True
    try:
        report = ingest_sources(paths, settings, engine, lambda n: _bump(status, n, stop))
        status.errors = report.errors[-50:]
    finally:
        status.seeding = False


def _bump(status: Status, n: int, stop: threading.Event | None = None) -> None:
    status.seeded += n
    if stop is not None and stop.is_set():
        raise StopRequestedError


def starter_opml_path(settings: Settings) -> Path:
    """The starter OPML: TIDINGS_STARTER_OPML or the bundled list."""
    if settings.starter_opml:
        return settings.starter_opml
    return Path(str(resources.files("tidings") / "data" / "starter.opml"))


def subscribe_starter_if_empty(engine: Engine, settings: Settings) -> None:
    """Subscribe a new install (no feeds, no seed paths) to the starter list."""
    if not settings.subscribe_starter or settings.seed_path_list:
        return
    with engine.connect() as conn:
        if list_sources(conn):
            return
    from tidings.ingest.opml import parse_opml
    from tidings.pipeline.subscriptions import subscribe_opml_feeds

    subscribe_opml_feeds(engine, parse_opml(starter_opml_path(settings).read_bytes()))
