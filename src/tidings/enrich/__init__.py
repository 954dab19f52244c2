"""Enrichment: language, entities, topics, key points and embeddings for articles.

English-only: entities (spaCy en_core_web_sm). Language-neutral: language detection, embeddings, key points
(position and centrality) and topics from source tags; the IPTC classifier runs on every article but is
trained on English examples, so it is reliable only for English.
"""

from tidings.enrich.batch import enrich_batch, versions
from tidings.enrich.cache import load_count

__all__ = ["enrich_batch", "load_count", "versions"]
