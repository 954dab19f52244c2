"""Run the enrichment stage over prepared articles, degrading to empty results when it is switched off."""

from __future__ import annotations

import logging

from tidings.config import Settings
from tidings.models import EnrichInput, Enrichment
from tidings.pipeline.prepare import PreparedArticle

log = logging.getLogger(__name__)


def enrich_inputs(prepared: list[PreparedArticle]) -> list[EnrichInput]:
    """The enrichment stage's view of each prepared article."""
    return [
        EnrichInput(
            title=p.article.title,
            text=p.article.text,
            standfirst=p.article.standfirst,
            tags=list(p.article.tags),
            language=p.article.language,
            source=p.source_name,
        )
        for p in prepared
    ]


def enrich_prepared(prepared: list[PreparedArticle], settings: Settings) -> list[Enrichment]:
    """Enrich a batch; when enrichment is off, each article gets an empty Enrichment noting why."""
    if not prepared:
        return []
    if not settings.enrich:
        return [Enrichment(language=p.article.language, skipped=["enrichment disabled"]) for p in prepared]
    try:
        from tidings.enrich import enrich_batch
    except ImportError as exc:  # a broken install must not stop ingestion
        log.warning("enrichment unavailable (%s); storing articles without it", exc)
        note = f"enrichment unavailable: {exc}"
        return [Enrichment(language=p.article.language, skipped=[note]) for p in prepared]
    return enrich_batch(enrich_inputs(prepared), settings)


def pack_embedding(enrichment: Enrichment) -> bytes | None:
    """The stored form of an enrichment's embedding, or None."""
    if enrichment.embedding is None:
        return None
    from tidings.enrich.embeddings import pack_vector

    return pack_vector(enrichment.embedding)
