"""Tidings' tasks: each reuses a pipeline function, is safe to run twice, and records its error on failure.

Feeds are claimed one worker at a time by a procrastinate lock named after the feed (`feed:<id>`), which is
also the queueing lock, so a feed is never queued twice. The periodic `tick` (deduplicated by the database
across every worker's scheduler) queues the feeds whose next fetch time has come; `refresh_feed` checks that
time again before fetching, so a job queued while another fetch of the same feed ran does nothing.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from procrastinate import RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import Engine

from tidings.config import Settings
from tidings.ingest.fetcher import Fetcher
from tidings.pipeline.ingest import IngestReport, ingest_sources
from tidings.pipeline.reenrich import enrich_pending
from tidings.pipeline.refresh import record_failure, refresh_source, retry_full_text
from tidings.pipeline.startup import Status, seed_if_empty, subscribe_starter_if_empty
from tidings.service.training import train as train_weights
from tidings.store import open_engine
from tidings.store import sources as source_repo
from tidings.store.retention import prune
from tidings.store.tasks import record_error
from tidings.store.util import as_utc, utcnow

log = logging.getLogger(__name__)

REFRESH_FEED = "tidings.refresh_feed"
INGEST_PATHS = "tidings.ingest_paths"
FULL_TEXT = "tidings.upgrade_full_text"
REENRICH = "tidings.reenrich"
TRAIN = "tidings.train"
STARTUP = "tidings.startup"
TICK = "tidings.tick"
RECOVER = "tidings.recover_stalled"
PRUNE = "tidings.prune"
# While a worker fetches a feed, its due time is pushed this far ahead, so that the scheduler does not queue
# it again meanwhile (that copy only found the feed not due). The fetch sets the real next due time, and a job
# whose worker dies is retried by the stalled-job check whatever the due time says.
FETCH_HOLD = timedelta(minutes=10)


def feed_lock(source_id: int) -> str:
    """The lock (and queueing lock) that lets one worker at a time fetch a feed."""
    return f"feed:{source_id}"


def recording(engine: Callable[[], Engine], name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a sync task so that its exception is stored (for /admin) before procrastinate retries it."""

    @functools.wraps(fn)
    def run(context: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(context, *args, **kwargs)
        except Exception as exc:
            job = context.job
            with engine().begin() as conn:
                record_error(conn, int(job.id), name, int(job.attempts) + 1, f"{type(exc).__name__}: {exc}")
            raise

    return run


def register(app: Any, settings: Settings, engine: Engine | None = None) -> None:
    """Register every task, and the periodic scheduler, on a procrastinate app."""

    def get_engine() -> Engine:
        if engine is not None:
            return engine

        return open_engine(settings)

    # procrastinate counts retries after the first run; 0 there would mean "retry for ever"
    retries = settings.task_max_attempts - 1
    retry = (
        RetryStrategy(max_attempts=retries, exponential_wait=settings.task_retry_seconds)
        if retries
        else False
    )
    bodies: dict[str, Callable[..., Any]] = {
        REFRESH_FEED: lambda ctx, source_id: refresh_feed(get_engine(), settings, ctx, source_id),
        INGEST_PATHS: lambda ctx, paths: ingest_paths(get_engine(), settings, paths),
        FULL_TEXT: lambda ctx: upgrade_full_text(get_engine(), settings),
        REENRICH: lambda ctx, limit=None: reenrich(get_engine(), settings, limit),
        TRAIN: lambda ctx: train(get_engine(), settings),
        STARTUP: lambda ctx: startup(get_engine(), settings),
    }
    for name, body in bodies.items():
        app.task(name=name, pass_context=True, retry=retry)(recording(get_engine, name, body))
    cron = f"* * * * * */{settings.task_tick_seconds}"  # the sixth column is seconds

    def tick(context: Any, timestamp: int) -> int:
        return defer_due(context.app, get_engine(), settings)

    # At most one tick waits in the queue, ahead of the feeds (priority), so slow jobs never pile ticks up.
    periodic = {"pass_context": True, "priority": 10}
    app.periodic(cron=cron)(app.task(name=TICK, queueing_lock=TICK, **periodic)(tick))

    async def recover_stalled(context: Any, timestamp: int) -> int:
        return await retry_stalled(context.app, settings.task_stalled_seconds)

    app.periodic(cron=cron)(app.task(name=RECOVER, queueing_lock=RECOVER, **periodic)(recover_stalled))

    def prune_old(context: Any, timestamp: int) -> int:
        return prune_if_due(get_engine(), settings, timestamp)

    # Hourly, on the hour: one run across every worker's scheduler (the periodic defer is deduplicated).
    app.periodic(cron="0 * * * *")(app.task(name=PRUNE, queueing_lock=PRUNE, **periodic)(prune_old))


def defer_due(app: Any, engine: Engine, settings: Settings) -> int:
    """Queue a refresh for every due feed (and a full-text pass); returns how many feeds were queued."""

    with engine.connect() as conn:
        due = source_repo.due_sources(conn, utcnow())
    queued = 0
    for source in due:
        lock = feed_lock(source["id"])
        try:
            app.configure_task(REFRESH_FEED, lock=lock, queueing_lock=lock).defer(source_id=source["id"])
            queued += 1
        except AlreadyEnqueued:
            pass  # already waiting for a worker
    if settings.fetch_full_text:
        with contextlib.suppress(AlreadyEnqueued):
            app.configure_task(FULL_TEXT, queueing_lock=FULL_TEXT).defer()
    return queued


def prune_if_due(engine: Engine, settings: Settings, timestamp: int) -> int:
    """Apply TIDINGS_RETENTION_DAYS on the hours TIDINGS_PRUNE_INTERVAL_HOURS marks; returns articles pruned.

    The periodic task runs every hour; `serve` without the queue counts the interval from its own start, while
    workers come and go, so here the interval counts whole hours since the epoch instead."""
    every = max(1, round(settings.prune_interval_hours))
    if settings.retention_days <= 0 or (timestamp // 3600) % every:
        return 0
    report = prune(engine, settings.retention_days)
    log.info("retention: pruned %d articles", report.articles)
    return report.articles


async def retry_stalled(app: Any, stalled_seconds: float) -> int:
    """Put back the jobs of workers that stopped sending heartbeats (killed mid-task); returns how many."""

    manager = app.job_manager
    jobs = list(await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_seconds))
    for job in jobs:
        log.warning("retrying job %s (%s): its worker stopped", job.id, job.task_name)
        # When the scheduler already queued the same work again, the manager ends this copy instead.
        await manager.retry_job(job)
    return len(jobs)


def refresh_feed(engine: Engine, settings: Settings, context: Any, source_id: Any) -> dict[str, Any]:
    """Fetch one feed if it is still due (or this is a retry) and store its new entries."""

    source_id = int(source_id)  # a malformed job fails here, every time, and is dead-lettered
    with engine.connect() as conn:
        source = source_repo.get_source(conn, source_id)
    if source is None or source.get("stopped_at"):
        return {"skipped": "gone"}  # deleted or stopped since it was queued: nothing to do
    due = as_utc(source.get("next_due"))
    if int(context.job.attempts) == 0 and due is not None and due > utcnow():
        return {"skipped": "not due"}  # another job fetched it since this one was queued
    with engine.begin() as conn:
        source_repo.hold_until(conn, source_id, utcnow() + FETCH_HOLD)
    report = IngestReport()
    try:
        with Fetcher(settings) as fetcher:
            refresh_source(engine, settings, fetcher, source, report)
    except Exception as exc:
        # Back the feed off as `tidings fetch` does, so the scheduler does not queue it again at once.
        record_failure(engine, settings, source, f"refresh failed: {type(exc).__name__}: {exc}", report)
        raise
    return {"new": report.count("new"), "updated": report.count("updated"), "errors": len(report.errors)}


def ingest_paths(engine: Engine, settings: Settings, paths: list[str]) -> dict[str, Any]:
    """Extract, enrich, cluster and store files or folders (duplicates are recognised, so reruns add none)."""

    report = ingest_sources(paths, settings, engine)
    return {"new": report.count("new"), "errors": len(report.errors)}


def upgrade_full_text(engine: Engine, settings: Settings) -> int:
    """Fetch the pages of teasers whose retry time has come."""

    with Fetcher(settings) as fetcher:
        return retry_full_text(engine, settings, fetcher)


def reenrich(engine: Engine, settings: Settings, limit: int | None = None) -> dict[str, Any]:
    """Enrich articles never enriched or enriched by an older enricher version."""

    return dict(enrich_pending(engine, settings, None, limit))


def train(engine: Engine, settings: Settings) -> dict[str, Any]:
    """Fit the instance's ranking weights on its logged impressions."""

    return dict(train_weights(engine, settings))


def startup(engine: Engine, settings: Settings) -> None:
    """A new install's first work: ingest the seed paths into an empty store, subscribe the starter list."""

    seed_if_empty(engine, settings, Status())
    subscribe_starter_if_empty(engine, settings)
