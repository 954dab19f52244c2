"""`tidings fetch` and the background scheduler: refresh due feeds, then retry teasers' full text."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from tidings.config import Settings
from tidings.ingest.documents import read_feed
from tidings.ingest.fetcher import Fetcher, FetchError
from tidings.ingest.health import next_due
from tidings.ingest.urls import is_http_url
from tidings.metrics import DUE_FEEDS, FETCHES, PENDING_FULL_TEXT
from tidings.pipeline.fulltext import count_pending_full_text, retry_full_text
from tidings.pipeline.icons import fetch_icon
from tidings.pipeline.ingest import IngestReport, batched, store_batch
from tidings.store import sources as source_repo
from tidings.store.util import utcnow

log = logging.getLogger(__name__)


def refresh_source(
    engine: Engine, settings: Settings, fetcher: Fetcher, source: dict[str, Any], report: IngestReport
) -> None:
    """Fetch one feed conditionally, store its new entries and record the feed's health."""
    now = utcnow()
    try:
        result = fetcher.fetch(
            source["url"], etag=source.get("etag"), last_modified=source.get("last_modified")
        )
    except FetchError as exc:
        FETCHES.labels(outcome=exc.kind).inc()
        record_failure(engine, settings, source, str(exc), report, retry_after=exc.retry_after)
        return
    FETCHES.labels(outcome="not_modified" if result.not_modified else "ok").inc()
    values: dict[str, Any] = {
        "last_fetched": now,
        "last_success": now,
        "last_error": None,
        "consecutive_failures": 0,
    }
    ttl = source.get("ttl_seconds")  # a 304 keeps the hint the feed gave last time
    if not result.not_modified:
        try:
            doc = read_feed(result.content, source["url"], result.url, source_id=source["id"])
        except (RecursionError, MemoryError, ValueError) as exc:
            # An unreadable document is the feed's failure: record it, so the feed never stays pending.
            record_failure(engine, settings, source, f"unreadable feed: {type(exc).__name__}", report)
            return
        if not doc.items and doc.warnings:  # nothing readable at all: the feed is failing, not empty
            record_failure(engine, settings, source, "; ".join(doc.warnings), report)
            return
        for warning in doc.warnings:
            report.add_error(source["url"], warning)
        ttl = values["ttl_seconds"] = doc.ttl_seconds
        if doc.feed_title and not source.get("title"):
            values["title"] = doc.feed_title
        if doc.site_url and is_http_url(doc.site_url):
            values["site_url"] = doc.site_url[:2048]
        if source.get("icon") is None:  # once per feed: "" records that none was found
            site = values.get("site_url") or source.get("site_url")
            values["icon"] = fetch_icon(fetcher, doc.image_url, site) or ""
        for batch in batched(doc.items, settings.batch_size):
            store_batch(engine, settings, batch, report)
        values.update(etag=result.etag, last_modified=result.last_modified)
    values["next_due"] = next_due(now, settings, ttl_seconds=ttl, max_age_seconds=result.max_age_seconds)
    with engine.begin() as conn:
        source_repo.record_fetch(conn, source["id"], values)


def record_failure(
    engine: Engine,
    settings: Settings,
    source: dict[str, Any],
    message: str,
    report: IngestReport,
    retry_after: float | None = None,
) -> None:
    """Report a feed's failure and record it in the feed's health, with a backed-off next try."""
    now = utcnow()
    failures = int(source.get("consecutive_failures") or 0) + 1
    report.add_error(source["url"], message)
    due = next_due(now, settings, failures, retry_after=retry_after)
    values = {"last_fetched": now, "last_error": message, "consecutive_failures": failures, "next_due": due}
    with engine.begin() as conn:
        source_repo.record_fetch(conn, source["id"], values)


def refresh_due(engine: Engine, settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """Fetch every due feed once, then retry pending full texts; the contract's `fetch --json` output."""
    report = IngestReport()
    with engine.connect() as conn:
        due = source_repo.due_sources(conn, now or utcnow())
        DUE_FEEDS.set(len(due))
        PENDING_FULL_TEXT.set(count_pending_full_text(conn))
    with Fetcher(settings) as fetcher:
        for source in due:
            try:
                refresh_source(engine, settings, fetcher, source, report)
            except Exception as exc:
                log.debug("refresh failed for %s", source["url"], exc_info=True)
                record_failure(
                    engine, settings, source, f"refresh failed: {type(exc).__name__}: {exc}", report
                )
        fetched = retry_full_text(engine, settings, fetcher) if settings.fetch_full_text else 0
    return {
        "feeds": len(due),
        "new": report.count("new"),
        "updated": report.count("updated"),
        "full_text": fetched,
        "errors": report.errors,
    }
