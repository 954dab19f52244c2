"""Start-up and background work in the server process: seeding, starter feeds and periodic refresh."""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time

from sqlalchemy import Engine

from tidings.config import Settings
from tidings.enrich import ner_worker
from tidings.pipeline.refresh import refresh_due
from tidings.pipeline.startup import Status, StopRequestedError, seed_if_empty, subscribe_starter_if_empty
from tidings.service.candidate_pool import refresh_pool
from tidings.service.story_idf import refresh_idf
from tidings.store.engine import is_unavailable
from tidings.store.retention import prune
from tidings.store.util import iso, utcnow

log = logging.getLogger(__name__)


def stop_children(wait: float = 5.0) -> None:
    """End the worker processes this server started (the NER worker), so that SIGTERM leaves none behind.

    Once they are gone the interpreter can exit, and multiprocessing's resource tracker, which waits for this
    process to close its pipe, ends with it."""
    ner_worker.shutdown()
    children = multiprocessing.active_children()
    for child in children:
        child.terminate()
    for child in children:
        child.join(timeout=wait)
        if child.is_alive():
            child.kill()


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
        while not self._stop.is_set():
            try:
                refresh_pool(self.engine)
                refresh_idf(self.engine)
                self.status.pool_ready = True
            except Exception as exc:
                if not is_unavailable(exc):
                    log.exception("candidate pool warm-up failed")
                # else: the database is down; requests answer 503 and the next poll retries
            self._stop.wait(POOL_POLL_SECONDS)

    def _run(self) -> None:
        if self.settings.uses_task_queue:
            self._hand_over()
            return
        try:
            seed_if_empty(self.engine, self.settings, self.status, self._stop)
            subscribe_starter_if_empty(self.engine, self.settings)
        except StopRequestedError:
            return
        except Exception:
            log.exception("start-up ingestion failed")
        last_prune = 0.0
        while self.settings.background_refresh and not self._stop.is_set():
            self._refresh_once()
            if time.monotonic() - last_prune >= self.settings.prune_interval_hours * 3600 or not last_prune:
                last_prune = time.monotonic()
                self._prune_once()
            self._stop.wait(self.settings.refresh_interval_seconds)

    def _prune_once(self) -> None:
        """Apply TIDINGS_RETENTION_DAYS (nothing when it is 0)."""
        if self.settings.retention_days <= 0:
            return
        try:
            report = prune(self.engine, self.settings.retention_days)
            log.info("retention: pruned %d articles", report.articles)
        except Exception:
            log.exception("retention prune failed")

    def _hand_over(self) -> None:
        """With the task queue, workers fetch and ingest: this process only queues the start-up work."""
        # Optional: the task queue needs procrastinate, which only the `postgres` extra installs.
        from tidings.tasks.app import defer
        from tidings.tasks.jobs import STARTUP

        try:
            defer(self.settings, STARTUP, lock=STARTUP)
        except Exception:
            log.exception("could not queue the start-up task; is PostgreSQL reachable?")

    def _refresh_once(self) -> None:
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
