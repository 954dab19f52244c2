"""Retention: drop old articles' bodies and embeddings, keeping what readers saved and live stories need."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, exists, func, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from tidings.store.engine import write_lock
from tidings.store.tables import articles, enrichments, read_state, stories
from tidings.store.util import iso, utcnow

PRUNE_BATCH = 500  # articles per write transaction: short locks, so ingest keeps going alongside


@dataclass
class PruneReport:
    """What one prune run did (or, with dry_run, would do)."""

    cutoff: str | None
    dry_run: bool
    articles: int = 0  # articles that lost their body, their embedding or both
    bodies: int = 0
    embeddings: int = 0
    batches: int = 0

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON object."""
        return asdict(self)


def _prunable(cutoff: datetime) -> ColumnElement[bool]:
    """Old, not saved by anyone, not in a story still receiving articles, and with something left to drop."""
    saved = exists().where(read_state.c.article_id == articles.c.id, read_state.c.is_starred.is_(True))
    live_story = exists().where(stories.c.id == articles.c.story_id, stories.c.last_updated >= cutoff)
    embedded = exists().where(enrichments.c.article_id == articles.c.id, enrichments.c.embedding.is_not(None))
    # Both clocks: an article published long ago but ingested today is kept for the whole period too.
    return and_(
        articles.c.sort_time < cutoff,
        articles.c.ingested_at < cutoff,
        ~saved,
        ~live_story,
        or_(articles.c.text != "", articles.c.html != "", embedded),
    )


def _next_batch(conn: Connection, cutoff: datetime, after_id: int) -> list[int]:
    query = (
        select(articles.c.id)
        .where(articles.c.id > after_id, _prunable(cutoff))
        .order_by(articles.c.id)
        .limit(PRUNE_BATCH)
    )
    return [int(i) for i in conn.execute(query).scalars()]


def _count(conn: Connection, ids: list[int], report: PruneReport) -> None:
    """Dry run: count what the batch would lose."""
    report.bodies += conn.execute(
        select(func.count())
        .select_from(articles)
        .where(articles.c.id.in_(ids), or_(articles.c.text != "", articles.c.html != ""))
    ).scalar_one()
    report.embeddings += conn.execute(
        select(func.count())
        .select_from(enrichments)
        .where(enrichments.c.article_id.in_(ids), enrichments.c.embedding.is_not(None))
    ).scalar_one()


def _prune(conn: Connection, kept: list[int], report: PruneReport) -> None:
    """Drop bodies and embeddings of the batch (selected in the same transaction)."""
    bodies = conn.execute(
        update(articles)
        .where(articles.c.id.in_(kept), or_(articles.c.text != "", articles.c.html != ""))
        # is_teaser off: the full-text upgrade must not fetch the body back.
        .values(text="", html="", captions=None, is_teaser=False, fulltext_next_try=None)
    )
    embeddings = conn.execute(
        update(enrichments)
        .where(enrichments.c.article_id.in_(kept), enrichments.c.embedding.is_not(None))
        # A new updated_at makes every process's candidate pool reload these articles without vectors.
        .values(embedding=None, updated_at=utcnow())
    )
    report.bodies += bodies.rowcount or 0
    report.embeddings += embeddings.rowcount or 0
    report.articles += len(kept)


def prune(
    engine: Engine, retention_days: float, dry_run: bool = False, now: datetime | None = None
) -> PruneReport:
    """Prune articles older than retention_days, one short transaction per batch (idempotent: a second run
    finds nothing left to drop). retention_days <= 0 keeps everything."""
    if retention_days <= 0:
        return PruneReport(cutoff=None, dry_run=dry_run)
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    report = PruneReport(cutoff=iso(cutoff), dry_run=dry_run)
    after_id = 0
    while True:
        if dry_run:
            with engine.connect() as conn:
                ids = _next_batch(conn, cutoff, after_id)
                if ids:
                    _count(conn, ids, report)
                    report.articles += len(ids)
        else:
            with engine.begin() as conn, write_lock(conn):
                ids = _next_batch(conn, cutoff, after_id)
                if ids:
                    _prune(conn, ids, report)
        if not ids:
            return report
        report.batches += 1
        after_id = ids[-1]
