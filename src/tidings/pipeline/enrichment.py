"""Run the enrichment stage over prepared articles, degrading to empty results when it is switched off."""

from __future__ import annotations

import logging
from collections.abc import Callable

from tidings.config import Settings
from tidings.enrich.batch import finish_batch, start_batch
from tidings.enrich.embeddings import pack_vector
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
    return start_enrichment(prepared, settings)()


def start_enrichment(prepared: list[PreparedArticle], settings: Settings) -> Callable[[], list[Enrichment]]:
    """Begin enriching a batch and return a function that waits for and returns the results.

    Embedding happens now; NER may still be running in its worker process when this returns, so the caller
    can extract the next batch meanwhile.
    """
    if not prepared:
        return list
    if not settings.enrich:
        empty = [Enrichment(language=p.article.language, skipped=["enrichment disabled"]) for p in prepared]
        return lambda: empty
    pending = start_batch(enrich_inputs(prepared), settings)
    return lambda: finish_batch(pending)


def pack_embedding(enrichment: Enrichment) -> bytes | None:
    """The stored form of an enrichment's embedding, or None."""
    if enrichment.embedding is None:
        return None
    return pack_vector(enrichment.embedding)
