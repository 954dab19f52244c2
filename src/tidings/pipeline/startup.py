"""A new install's first work: ingest the seed paths into an empty store and subscribe the starter list.

`serve` runs it in its background thread; with the task queue, the `startup` task runs it in a worker.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from sqlalchemy import Engine

from tidings.config import Settings
from tidings.ingest.opml import parse_opml
from tidings.pipeline.ingest import ingest_sources
from tidings.pipeline.subscriptions import subscribe_opml_feeds
from tidings.store.articles import count_articles
from tidings.store.sources import list_sources


class StopRequestedError(Exception):
    """The server is shutting down: start-up ingestion stops between batches."""


@dataclass
class Status:
    """What the background worker is doing, shown on pages and /healthz."""

    seeding: bool = False
    seeded: int = 0
    refreshing: bool = False
    pool_ready: bool = False  # the candidate pool is built, so no reader pays for it
    last_refresh: str | None = None
    errors: list[dict[str, str]] = field(default_factory=list)


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
    subscribe_opml_feeds(engine, parse_opml(starter_opml_path(settings).read_bytes()))
