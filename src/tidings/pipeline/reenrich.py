"""`tidings enrich --pending`: enrich articles whose enrichment is missing or made by an older enricher."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, select

from tidings.config import Settings
from tidings.models import EnrichInput
from tidings.pipeline.aliases import realias_stored, resolve_enrichment
from tidings.pipeline.enrichment import pack_embedding
from tidings.store import articles as article_repo
from tidings.store.engine import write_lock
from tidings.store.tables import articles, enrichments


def pending_ids(engine: Engine, current: dict[str, str]) -> list[int]:
    """Ids of articles with no enrichment or with any enricher version different from the current one."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(articles.c.id, enrichments.c.versions)
            .select_from(articles.outerjoin(enrichments, enrichments.c.article_id == articles.c.id))
            .order_by(articles.c.id)
        ).all()
    return [int(aid) for aid, versions in rows if not versions or dict(versions) != current]


def enrich_pending(
    engine: Engine,
    settings: Settings,
    progress: Callable[[int], None] | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """Re-run enrichment where needed, one transaction per batch, then resolve short entity names across
    the store again; returns {"pending", "enriched", "aliased"}."""
    from tidings.enrich import enrich_batch, versions

    ids = pending_ids(engine, versions(settings))[: limit or None]
    done = 0
    for start in range(0, len(ids), settings.batch_size):
        chunk = ids[start : start + settings.batch_size]
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    articles.c.id,
                    articles.c.title,
                    articles.c.text,
                    articles.c.standfirst,
                    articles.c.tags,
                    articles.c.language,
                    articles.c.source,
                ).where(articles.c.id.in_(chunk))
            ).all()
        inputs = [
            EnrichInput(
                title=r.title,
                text=r.text or "",
                standfirst=r.standfirst,
                tags=list(r.tags or []),
                language=r.language,
                source=r.source,
            )
            for r in rows
        ]
        results = enrich_batch(inputs, settings)
        with engine.begin() as conn, write_lock(conn):
            for row, enrichment in zip(rows, results, strict=True):
                enrichment = resolve_enrichment(conn, enrichment)
                article_repo.save_enrichment(conn, int(row.id), enrichment, pack_embedding(enrichment))
        done += len(rows)
        if progress:
            progress(len(rows))
    # Articles stored before a full name was first seen keep their short names until this pass.
    aliased = realias_stored(engine)
    return {"pending": len(ids), "enriched": done, "aliased": aliased}
