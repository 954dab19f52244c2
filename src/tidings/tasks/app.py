"""The procrastinate app for the configured database, start-up checks, and deferring from `serve`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import procrastinate
import psycopg
from procrastinate.exceptions import AlreadyEnqueued, ConnectorException, UniqueViolation
from procrastinate.jobs import Status as JobStatus
from procrastinate.manager import JobManager
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from tidings.config import Settings
from tidings.store import open_engine
from tidings.store.tasks import ensure_queue_schema
from tidings.tasks.jobs import register

log = logging.getLogger(__name__)


class QueueUnavailableError(Exception):
    """The task queue cannot run here (SQLite, or PostgreSQL unreachable); the message says what to do."""


def conninfo(settings: Settings) -> str:
    """The libpq connection string for TIDINGS_DATABASE_URL (PostgreSQL only)."""
    url = make_url(settings.resolved_database_url)
    if not url.drivername.startswith("postgresql"):
        raise QueueUnavailableError(
            "the task queue needs PostgreSQL: set TIDINGS_DATABASE_URL=postgresql+psycopg://USER@HOST/DB "
            "(with SQLite, `tidings serve` runs fetching and ingest itself and no worker is needed)"
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def check_reachable(settings: Settings, timeout: int = 5) -> None:
    """Connect once, turning a refused or timed-out connection into an actionable error."""

    info = conninfo(settings)
    url = make_url(settings.resolved_database_url)
    try:
        psycopg.connect(info, connect_timeout=timeout).close()
    except psycopg.OperationalError as exc:
        reason = " ".join(str(exc).split())[:300]
        where = f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"
        raise QueueUnavailableError(
            f"cannot reach PostgreSQL at {where} ({reason}); start the server or fix TIDINGS_DATABASE_URL, "
            "then run the worker again"
        ) from None


def make_app(settings: Settings, engine: Engine | None = None) -> Any:
    """A procrastinate App on the configured PostgreSQL database, with Tidings' tasks registered."""

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(settings)))
    app.job_manager = SteadyJobManager(app.job_manager.connector)  # before the tasks take a reference
    register(app, settings, engine)
    return app


class SteadyJobManager(JobManager):
    """procrastinate's job manager, but a job's outcome is written again when the connection drops.

    procrastinate writes a finished job's status once; when PostgreSQL restarts at that moment the error is
    only logged ("Task exception was never retrieved"), and the job stays `doing` under a live worker, whose
    heartbeat keeps the stalled-job check away: the feed's lock is then held for good.
    """

    async def finish_job(self, job: Any, status: Any, delete_job: bool) -> None:
        """Set a job's final state, retrying through a lost connection."""
        await persist(lambda: JobManager.finish_job(self, job, status, delete_job))

    async def retry_job(
        self,
        job: Any,
        retry_at: Any = None,
        priority: int | None = None,
        queue: str | None = None,
        lock: str | None = None,
    ) -> None:
        """Put a job back in the queue, retrying through a lost connection; when the same work is already
        queued again (same queueing lock), end this copy instead.

        Without that, a job that failed while the scheduler queued its successor stayed `doing` for good
        (procrastinate only logs the unique violation), holding the feed's lock so the successor never ran.
        """
        try:
            await persist(lambda: JobManager.retry_job(self, job, retry_at, priority, queue, lock))
        except UniqueViolation:
            log.info("job %s (%s) is queued again already; ending this copy", job.id, job.task_name)
            await self.finish_job(job, status=JobStatus.ABORTED, delete_job=False)


async def persist(write: Callable[[], Awaitable[None]], seconds: float = 120.0) -> None:
    """Run a job-state write until it goes through, for up to `seconds` of lost connections."""
    deadline, pause = time.monotonic() + seconds, 0.5
    while True:
        try:
            await write()
            return
        except Exception as exc:
            if not lost_connection(exc) or time.monotonic() > deadline:
                raise
            log.warning("could not record a job's outcome (%s); trying again in %.1f s", describe(exc), pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 10.0)


def lost_connection(exc: BaseException) -> bool:
    """True when exc comes from a dropped or refused connection (not a constraint or a query error)."""
    return caused_by(exc, (psycopg.OperationalError, OSError))


def caused_by(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    """True when exc, or an exception in its chain of causes, is one of `kinds`."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kinds):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def prepare(settings: Settings) -> Engine:
    """Check the database, migrate it and apply the queue schema; returns the engine."""

    check_reachable(settings)
    engine = open_engine(settings)
    ensure_queue_schema(engine)
    return engine


def run_worker(settings: Settings, concurrency: int = 1, wait: bool = True) -> None:
    """Run one worker (and the periodic scheduler) until SIGTERM/SIGINT, or until idle when not `wait`."""
    engine = prepare(settings)
    app = make_app(settings, engine)
    heartbeat = max(0.5, min(10.0, settings.task_stalled_seconds / 3))
    options: dict[str, Any] = {
        "concurrency": concurrency,
        "wait": wait,
        "update_heartbeat_interval": heartbeat,
        "stalled_worker_timeout": settings.task_stalled_seconds,
        # Our own handlers (below): only a signal may end a waiting worker.
        "install_signal_handlers": False,
        # Poll instead of LISTEN: after a PostgreSQL restart procrastinate's listener can fail without ending
        # the worker, which then never wakes; a poll each second costs one indexed query.
        "listen_notify": False,
        "fetch_job_polling_interval": 1.0,
    }
    asyncio.run(supervise(app, options, wait))


async def supervise(app: Any, options: dict[str, Any], wait: bool) -> None:
    """Run procrastinate's worker again whenever it ends without a stop signal.

    procrastinate stops a worker quietly, as if asked to, when one of its side tasks (the heartbeat, the
    periodic scheduler) fails, say because PostgreSQL dropped the connection mid-query. A waiting worker must
    only end on SIGTERM/SIGINT, so any other end (a lost connection, an error) starts it again after a pause.
    """
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = [signal.SIGINT, signal.SIGTERM] if wait and is_main_thread() else []
    for sig in signals:
        loop.add_signal_handler(sig, stopping.set)
    try:
        async with app.open_async():
            pause = 1.0
            while True:
                began = time.monotonic()
                ended = await run_until_stopped(app, options, stopping)
                if ended is None:
                    return  # a stop signal, or idle when not waiting
                if not wait or not isinstance(ended, Exception):
                    raise ended
                if time.monotonic() - began > 60:
                    pause = 1.0  # it had been working: a fresh failure starts the backoff again
                # A lost connection is expected (a restart); anything else is a bug worth its traceback, but a
                # daemon that exits leaves the queue unserved, so it starts again either way.
                trace = None if is_connection_error(ended) else ended
                log.warning(
                    "worker stopped (%s); starting it again in %.0f s", describe(ended), pause, exc_info=trace
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), pause)
                if stopping.is_set():
                    return
                pause = min(pause * 2, 30.0)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


class WorkerEndedError(Exception):
    """procrastinate's worker returned although no stop signal came (a failed side task stopped it)."""


async def run_until_stopped(
    app: Any, options: dict[str, Any], stopping: asyncio.Event
) -> BaseException | None:
    """One run of procrastinate's worker; None when it ended as asked, else why it ended."""
    run = asyncio.create_task(app.run_worker_async(**options), name="procrastinate worker")
    stop = asyncio.create_task(stopping.wait(), name="stop signal")
    await asyncio.wait({run, stop}, return_when=asyncio.FIRST_COMPLETED)
    if stopping.is_set():
        run.cancel()  # procrastinate's graceful stop: the running jobs finish first
        with contextlib.suppress(asyncio.CancelledError):
            await run
        return None
    stop.cancel()
    failure = run.exception()
    if failure is None and options["wait"]:
        return WorkerEndedError("procrastinate's worker ended without a stop signal")
    return failure


def is_main_thread() -> bool:
    """Signal handlers can only be installed from the main thread (tests drain queues in others)."""
    return threading.current_thread() is threading.main_thread()


def describe(exc: BaseException) -> str:
    """A short reason for the log."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"


def is_connection_error(exc: BaseException) -> bool:
    """True when exc (or its cause) is a lost or refused connection, or procrastinate's wrapper of one.

    Broader than lost_connection: it only picks how to log a stopped worker, never whether to retry."""
    return caused_by(exc, (psycopg.OperationalError, ConnectorException, OSError))


def defer(settings: Settings, task_name: str, lock: str | None = None, **kwargs: Any) -> bool:
    """Defer one task from outside a worker (`serve`, the CLI); False when the same one is already queued."""

    app = make_app(settings)
    with app.open():
        try:
            app.configure_task(task_name, lock=lock, queueing_lock=lock).defer(**kwargs)
        except AlreadyEnqueued:
            return False
    return True
