"""`tidings ingest`: files, folders and URLs become prepared, enriched, clustered, stored articles."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from tidings.config import Settings
from tidings.ingest.documents import Document, DocumentError, RawItem, iter_files, read_document
from tidings.pipeline.enrichment import enrich_prepared
from tidings.pipeline.persist import classify, write_article
from tidings.pipeline.prepare import PreparedArticle, prepare_item
from tidings.store.engine import write_lock

log = logging.getLogger(__name__)

ProgressFn = Callable[[int], None]


@dataclass
class IngestReport:
    """What an ingest did: one entry per article seen, plus one-line errors naming their source."""

    articles: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    subscribed: list[dict[str, Any]] = field(default_factory=list)

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
            from tidings.pipeline.remote import fetch_document

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
                yield read_document(file)
            except DocumentError as exc:
                report.add_error(str(file), str(exc))


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


def store_batch(engine: Engine, settings: Settings, items: list[RawItem], report: IngestReport) -> None:
    """Prepare, enrich and write one batch in a single transaction."""
    prepared = prepare_batch(items, report)
    flags = needs_enrichment(engine, prepared)
    to_enrich = [p for p, flag in zip(prepared, flags, strict=True) if flag]
    enrichments = dict(zip(map(id, to_enrich), enrich_prepared(to_enrich, settings), strict=True))
    from tidings.pipeline import clustering

    try:
        with engine.begin() as conn, write_lock(conn):
            cache = clustering.synced_cache(conn)
            written = []
            for p in prepared:
                status, article_id = write_article(conn, p, enrichments.get(id(p)))
                written.append((p, status, article_id))
            placed = clustering.assign_stories(
                conn,
                cache,
                [
                    (aid, status, enrichments.get(id(p)))
                    for p, status, aid in written
                    if status != "duplicate"
                ],
            )
    except Exception:
        clustering.forget_cache_for(engine)
        raise
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


def ingest_sources(
    sources: Iterable[str], settings: Settings, engine: Engine, progress: ProgressFn | None = None
) -> IngestReport:
    """Ingest every source; returns the report (partial failures are listed, not raised)."""
    report = IngestReport()
    for doc in load_documents(sources, settings, report):
        for warning in doc.warnings:
            report.add_error(doc.origin, warning)
        if doc.feeds:
            from tidings.pipeline.subscriptions import subscribe_opml_feeds

            report.subscribed.extend(subscribe_opml_feeds(engine, doc.feeds))
        for batch in batched(doc.items, settings.batch_size):
            try:
                store_batch(engine, settings, batch, report)
            except Exception as exc:
                log.debug("batch from %s failed", doc.origin, exc_info=True)
                report.add_error(doc.origin, f"{len(batch)} items not stored: {type(exc).__name__}: {exc}")
            if progress:
                progress(len(batch))
    return report


def count_items(sources: Iterable[str]) -> int | None:
    """A cheap estimate of how many files an ingest will read (for the progress bar), None for URLs."""
    total = 0
    for source in sources:
        if is_url(source):
            return None
        path = Path(source)
        if path.exists():
            total += sum(1 for _ in iter_files(path))
    return total
