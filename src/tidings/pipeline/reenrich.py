"""`tidings enrich --pending`: enrich articles whose enrichment is missing or made by an older enricher."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from tidings.config import Settings
from tidings.enrich import enrich_batch, versions
from tidings.models import EnrichInput
from tidings.pipeline.aliases import realias_stored, resolve_enrichment
from tidings.pipeline.enrichment import pack_embedding
from tidings.store import articles as article_repo
from tidings.store.engine import write_lock


def pending_ids(engine: Engine, current: dict[str, str]) -> list[int]:
    """Ids of articles with no enrichment or with any enricher version different from the current one."""
    with engine.connect() as conn:
        rows = article_repo.enrichment_versions(conn)
    return [aid for aid, versions in rows if not versions or dict(versions) != current]


def enrich_pending(
    engine: Engine,
    settings: Settings,
    progress: Callable[[int], None] | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """Re-run enrichment where needed, one transaction per batch, then resolve short entity names across
    the store again; returns {"pending", "enriched", "aliased"}."""
    ids = pending_ids(engine, versions(settings))[: limit or None]
    done = 0
    for start in range(0, len(ids), settings.batch_size):
        chunk = ids[start : start + settings.batch_size]
        with engine.connect() as conn:
            rows = article_repo.enrich_fields(conn, chunk)
        inputs = [
            EnrichInput(
                title=r["title"],
                text=r["text"] or "",
                standfirst=r["standfirst"],
                tags=list(r["tags"] or []),
                language=r["language"],
                source=r["source"],
            )
            for r in rows
        ]
        results = enrich_batch(inputs, settings)
        with engine.begin() as conn, write_lock(conn):
            for row, enrichment in zip(rows, results, strict=True):
                enrichment = resolve_enrichment(conn, enrichment)
                article_repo.save_enrichment(conn, int(row["id"]), enrichment, pack_embedding(enrichment))
        done += len(rows)
        if progress:
            progress(len(rows))
    # Articles stored before a full name was first seen keep their short names until this pass.
    aliased = realias_stored(engine)
    return {"pending": len(ids), "enriched": done, "aliased": aliased}
