"""`tidings ingest`: files, folders and URLs become prepared, enriched, clustered, stored articles."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from tidings.config import Settings
from tidings.ingest.documents import Document, DocumentError, RawItem, iter_files, read_document
from tidings.metrics import count_ingested
from tidings.models import Enrichment
from tidings.pipeline import story_placement
from tidings.pipeline.aliases import resolve_enrichment
from tidings.pipeline.enrichment import start_enrichment
from tidings.pipeline.persist import classify, write_article
from tidings.pipeline.prepare import PreparedArticle, prepare_item
from tidings.pipeline.remote import fetch_document
from tidings.pipeline.subscriptions import subscribe_opml_feeds
from tidings.store.engine import write_lock

log = logging.getLogger(__name__)

ProgressFn = Callable[[int], None]


@dataclass
class IngestReport:
    """What an ingest did: one entry per article seen, plus one-line errors naming their source."""

    articles: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    subscribed: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    pending_feeds: list[Any] = field(default_factory=list)

    def add_time(self, stage: str, seconds: float) -> None:
        """Accumulate time spent in one stage (thread-safe enough: one writer per stage)."""
        self.timings[stage] = self.timings.get(stage, 0.0) + seconds

    def add_error(self, source: str, error: str) -> None:
        """Record a one-line error for a source."""
        self.errors.append({"source": source, "error": " ".join(str(error).split())[:500]})

    def to_json(self) -> dict[str, Any]:
        """The contract's JSON for `ingest --json`."""
        out: dict[str, Any] = {"articles": self.articles, "errors": self.errors}
        if self.subscribed:
            out["subscribed"] = self.subscribed
        return out

    def count(self, status: str) -> int:
        """How many articles ended with this status."""
        return sum(1 for a in self.articles if a["status"] == status)


def is_url(source: str) -> bool:
    """True for http(s) URLs given on the command line."""
    return source.startswith(("http://", "https://"))


def load_documents(sources: Iterable[str], settings: Settings, report: IngestReport) -> Iterator[Document]:
    """Documents for each source (files, folders recursively, URLs); unreadable ones become errors."""
    for source in sources:
        if is_url(source):
            try:
                yield fetch_document(source, settings)
            except Exception as exc:
                report.add_error(source, str(exc) or type(exc).__name__)
            continue
        path = Path(source)
        if not path.exists():
            report.add_error(source, "no such file or folder")
            continue
        for file in iter_files(path):
            try:
                document = read_document(file)
            except DocumentError as exc:
                report.add_error(str(file), str(exc))
                continue
            except RecursionError:
                report.add_error(str(file), "nested too deeply to read")
                continue
            yield document


def batched(items: Iterable[RawItem], size: int) -> Iterator[list[RawItem]]:
    """Split items into lists of at most size."""
    batch: list[RawItem] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def prepare_batch(items: list[RawItem], report: IngestReport) -> list[PreparedArticle]:
    """Extract each item; an item that fails becomes an error, not a crash."""
    prepared = []
    for item in items:
        try:
            prepared.append(prepare_item(item))
        except Exception as exc:
            log.debug("extraction failed for %s", item.origin, exc_info=True)
            report.add_error(item.url or item.origin, f"extraction failed: {exc}")
    return prepared


def needs_enrichment(engine: Engine, prepared: list[PreparedArticle]) -> list[bool]:
    """Which prepared articles are new or updated (duplicates are not enriched again)."""
    with engine.connect() as conn:
        flags = [classify(conn, p)[0] != "duplicate" for p in prepared]
        conn.rollback()
    return flags


@dataclass
class ComputedBatch:
    """A batch after extraction and embedding; `resolve` waits for the rest of its enrichment."""

    prepared: list[PreparedArticle]
    enriched: list[PreparedArticle]
    finish: Callable[[], list[Enrichment]]

    def resolve(self) -> dict[int, Enrichment]:
        """id(prepared) -> enrichment, waiting for NER still running in the worker process."""
        return dict(zip(map(id, self.enriched), self.finish(), strict=True))


def compute_batch(
    engine: Engine, settings: Settings, items: list[RawItem], report: IngestReport
) -> ComputedBatch:
    """Extract every item and start enriching those not already stored (no writes; safe to run ahead)."""
    started = time.perf_counter()
    prepared = prepare_batch(items, report)
    flags = needs_enrichment(engine, prepared)
    extracted = time.perf_counter()
    to_enrich = [p for p, flag in zip(prepared, flags, strict=True) if flag]
    finish = start_enrichment(to_enrich, settings)
    report.add_time("extract", extracted - started)
    report.add_time("enrich", time.perf_counter() - extracted)
    return ComputedBatch(prepared, to_enrich, finish)


def write_batch(engine: Engine, batch: ComputedBatch, report: IngestReport) -> None:
    """Write one computed batch in a single transaction holding the write lock, clustering as it goes."""
    started = time.perf_counter()
    enrichments = batch.resolve()  # before taking the write lock: NER may still be running
    report.add_time("enrich_wait", time.perf_counter() - started)
    started = time.perf_counter()
    try:
        with engine.begin() as conn, write_lock(conn):
            cache = story_placement.synced_cache(conn)
            written = []
            for p in batch.prepared:
                enrichment = enrichments.get(id(p))
                if enrichment is not None:  # story placement below reads the resolved entity keys
                    enrichment = enrichments[id(p)] = resolve_enrichment(conn, enrichment)
                status, article_id = write_article(conn, p, enrichment)
                written.append((p, status, article_id))
            fresh = [
                (aid, status, enrichments.get(id(p))) for p, status, aid in written if status != "duplicate"
            ]
            placed = story_placement.assign_stories(conn, cache, fresh)
    except Exception:
        story_placement.forget_cache_for(engine)
        raise
    report.add_time("store", time.perf_counter() - started)
    for p, status, article_id in written:
        where = placed.get(article_id, {})
        entry: dict[str, Any] = {
            "id": article_id,
            "url": p.article.url,
            "title": p.article.title,
            "status": status,
        }
        if where.get("duplicate_of"):
            entry.update(status="duplicate", duplicate_of=where["duplicate_of"])
        entry["story_id"] = where.get("story_id")
        report.articles.append(entry)


def store_batch(engine: Engine, settings: Settings, items: list[RawItem], report: IngestReport) -> None:
    """Prepare, enrich and write one batch."""
    write_batch(engine, compute_batch(engine, settings, items, report), report)


def all_items(documents: Iterable[Document], report: IngestReport) -> Iterator[RawItem]:
    """Every raw item across documents; warnings and OPML subscriptions are handled on the way."""
    for doc in documents:
        for warning in doc.warnings:
            report.add_error(doc.origin, warning)
        if doc.feeds:
            report.pending_feeds.extend(doc.feeds)
        yield from doc.items


def ingest_sources(
    sources: Iterable[str], settings: Settings, engine: Engine, progress: ProgressFn | None = None
) -> IngestReport:
    """Ingest every source; returns the report (partial failures are listed, not raised).

    Extraction and embedding of the next batch run in a worker thread while the current batch is written, so
    the model work (which releases the GIL) overlaps the database work; NER runs in its own process and is
    only waited for just before a batch is written, so it overlaps the extraction of the next batch too.
    """
    report = IngestReport()
    batches = batched(all_items(load_documents(sources, settings, report), report), settings.batch_size)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tidings-enrich") as pool:
        ahead: Future[ComputedBatch] | None = None
        ahead_items: list[RawItem] = []
        for items in batches:
            current, current_items = ahead, ahead_items
            ahead, ahead_items = pool.submit(compute_batch, engine, settings, items, report), items
            if current is not None:
                _write_reported(engine, current, current_items, report, progress)
        if ahead is not None:
            _write_reported(engine, ahead, ahead_items, report, progress)
    count_ingested(report.articles)
    if report.pending_feeds:
        report.subscribed.extend(subscribe_opml_feeds(engine, report.pending_feeds))
    return report


def _write_reported(
    engine: Engine,
    computed: Future[ComputedBatch],
    items: list[RawItem],
    report: IngestReport,
    progress: ProgressFn | None,
) -> None:
    try:
        write_batch(engine, computed.result(), report)
    except Exception as exc:
        log.debug("batch failed", exc_info=True)
        origin = items[0].origin if items else "batch"
        report.add_error(origin, f"{len(items)} items not stored: {type(exc).__name__}: {exc}")
    if progress:
        progress(len(items))
