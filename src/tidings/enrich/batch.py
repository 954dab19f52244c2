"""Batch enrichment: language, entities, topics, key points and embeddings for many articles at once.

Models load once per process (see `cache.load_count`). spaCy NER runs in a worker process (see `ner_worker`)
while this process embeds the batch, so the two share the 2 cores; `start_batch` / `finish_batch` let a
caller keep extracting and embedding the next batch while the worker is still busy with NER.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

# Modules by their full path: `from tidings.enrich import ...` would run through the package's __init__,
# which imports this module (an import cycle).
import tidings.enrich.aliases as aliases
import tidings.enrich.entities as entities
import tidings.enrich.keypoints as keypoints
import tidings.enrich.language as language
import tidings.enrich.ner_worker as ner_worker
import tidings.enrich.topics as topics
from tidings.config import Settings
from tidings.enrich.embeddings import compose_article_text, embed_texts, get_encoder
from tidings.models import EnrichInput, Enrichment, Entity

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 200_000  # longer bodies are cut before any enricher reads them


@dataclass
class _Item:
    source: EnrichInput
    text: str
    language: str | None
    candidates: list[str]
    skipped: list[str] = field(default_factory=list)


def prepare(item: EnrichInput) -> _Item:
    """Normalise one input: cap its length, detect its language and find key-point candidates."""
    skipped: list[str] = []
    text = item.text or ""
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS]
        skipped.append(f"text: only the first {MAX_TEXT_CHARS} characters were read")
    lang = language.detect_language(f"{item.title}\n{text}", item.language)
    if lang is None:
        skipped.append("language: not enough text to identify")
    candidates = keypoints.candidate_sentences(text, lang)
    return _Item(item, text, lang, candidates, skipped)


def versions(settings: Settings) -> dict[str, str]:
    """Enricher name -> version; a change makes `tidings enrich` re-run that enricher."""
    encoder = get_encoder(settings).name
    return {
        "language": language.VERSION,
        "entities": f"{entities.VERSION}+{aliases.VERSION}/{settings.spacy_model}",
        "topics": f"{topics.VERSION}/{encoder}",
        "key_points": f"{keypoints.VERSION}/{encoder}",
        "embedding": encoder,
    }


@contextmanager
def _torch_threads(count: int) -> Iterator[None]:
    # Deferred: torch takes seconds to import and is loaded only with the PyTorch encoder.
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _embed_all(items: list[_Item], settings: Settings) -> tuple[list[np.ndarray | None], list[np.ndarray]]:
    """Article vectors (None for empty articles) and candidate-sentence vectors.

    With the transformer, sentences inside the article's embedding window are pooled from that same pass;
    only the ones beyond it are embedded on their own.
    """
    docs = [compose_article_text(i.source.title, i.text, i.source.standfirst) for i in items]
    has_text = [any(ch.isalnum() for ch in d) for d in docs]
    encoder = get_encoder(settings)
    if not hasattr(encoder, "encode_with_spans"):
        return _embed_separately(items, docs, has_text, settings)
    kept = [k for k, ok in enumerate(has_text) if ok]
    spans = [[_span_of(docs[k], sentence) for sentence in items[k].candidates] for k in kept]
    if kept:
        matrix, pooled = encoder.encode_with_spans(
            [docs[k] for k in kept], spans, settings.embedding_max_tokens
        )
    else:
        matrix, pooled = np.zeros((0, encoder.dim), dtype=np.float32), []
    by_item = {k: (matrix[row], pooled[row]) for row, k in enumerate(kept)}
    missing = [
        (k, j)
        for k, item in enumerate(items)
        for j in range(len(item.candidates))
        if k not in by_item or by_item[k][1][j] is None
    ]
    extra = embed_texts([items[k].candidates[j] for k, j in missing], settings)
    filled = {pair: extra[n] for n, pair in enumerate(missing)}
    doc_vectors: list[np.ndarray | None] = [
        by_item[k][0] if k in by_item else None for k in range(len(items))
    ]
    sentence_vectors = []
    for k, item in enumerate(items):
        rows = [filled[(k, j)] if (k, j) in filled else by_item[k][1][j] for j in range(len(item.candidates))]
        sentence_vectors.append(np.array(rows, dtype=np.float32).reshape(len(rows), encoder.dim))
    return doc_vectors, sentence_vectors


def _span_of(doc: str, sentence: str) -> tuple[int, int]:
    """Where a sentence stands in the embedded text (past its end when absent: then it is embedded alone)."""
    start = doc.find(sentence)
    return (start, start + len(sentence)) if start >= 0 else (len(doc) + 1, len(doc) + 1)


def _embed_separately(
    items: list[_Item], docs: list[str], has_text: list[bool], settings: Settings
) -> tuple[list[np.ndarray | None], list[np.ndarray]]:
    """Article and sentence vectors in one plain encode call (for encoders without token outputs)."""
    texts = [d for d, ok in zip(docs, has_text, strict=True) if ok]
    texts += [s for i in items for s in i.candidates]
    matrix = embed_texts(texts, settings)
    doc_vectors: list[np.ndarray | None] = []
    row = 0
    for ok in has_text:
        doc_vectors.append(matrix[row] if ok else None)
        row += int(ok)
    sentence_vectors = []
    for item in items:
        sentence_vectors.append(matrix[row : row + len(item.candidates)])
        row += len(item.candidates)
    return doc_vectors, sentence_vectors


@dataclass
class PendingBatch:
    """A batch whose embeddings are done and whose NER may still be running in the worker process."""

    items: list[_Item]
    doc_vectors: list[np.ndarray | None]
    sentence_vectors: list[np.ndarray]
    english: list[_Item]
    ner_texts: list[tuple[str, str]]
    job: Future[ner_worker.Mentions] | None
    settings: Settings


def start_batch(items: list[EnrichInput], settings: Settings) -> PendingBatch:
    """Prepare and embed a batch here, with its NER started in the worker process (not waited for).

    The caller can go on to the next batch and call `finish_batch` later, so that the worker's NER overlaps
    this process's extraction and embedding of what comes next.
    """
    prepared = [prepare(i) for i in items]
    english = [i for i in prepared if language.is_english(i.language)]
    ner_texts = [entities.ner_text(i.source.title, i.source.standfirst, i.text) for i in english]
    job = ner_worker.submit(settings, [head for head, _ in ner_texts])
    cores = os.cpu_count() or 2
    with _torch_threads(max(1, cores - 1) if job is not None else cores):
        doc_vectors, sentence_vectors = _embed_all(prepared, settings)
    return PendingBatch(prepared, doc_vectors, sentence_vectors, english, ner_texts, job, settings)


def _entities(pending: PendingBatch) -> list[list[Entity]]:
    """Entities of each item: NER is English-only, so others get an empty list and a note."""
    resolved = entities.finish_ner(pending.job, pending.ner_texts, pending.settings)
    by_id = {id(i): found for i, found in zip(pending.english, resolved, strict=True)}
    for item in pending.items:
        if id(item) not in by_id:
            item.skipped.append(f"entities: English-only, language is {item.language or 'unknown'}")
    return [by_id.get(id(i), []) for i in pending.items]


def finish_batch(pending: PendingBatch) -> list[Enrichment]:
    """Wait for the batch's NER, then add topics and key points and put each article's results together."""
    if not pending.items:
        return []
    found = _entities(pending)
    settings = pending.settings
    present = [v for v in pending.doc_vectors if v is not None]
    ranked_iter = iter(topics.classify_topics(np.array(present), settings) if present else [])
    level2_iter = iter(topics.classify_level2(np.array(present), settings) if present else [])
    encoder = get_encoder(settings).name
    stamp = versions(settings)
    results = []
    rows = zip(pending.items, found, pending.doc_vectors, pending.sentence_vectors, strict=True)
    for item, ents, vector, sent_vecs in rows:
        ranked = next(ranked_iter) if vector is not None else []
        level2 = next(level2_iter) if vector is not None else {}
        results.append(_assemble(item, ents, vector, sent_vecs, (ranked, level2), encoder, stamp))
    return results


def enrich_batch(items: list[EnrichInput], settings: Settings) -> list[Enrichment]:
    """Enrich a batch of articles; never raises on odd text, notes what did not apply in `skipped`."""
    if not items:
        return []
    return finish_batch(start_batch(items, settings))


def _assemble(
    item: _Item,
    ents: list[Entity],
    vector: np.ndarray | None,
    sentence_vectors: np.ndarray,
    scores: tuple[list[tuple[str, float]], dict[str, float]],
    encoder: str,
    stamp: dict[str, str],
) -> Enrichment:
    """Put one article's results together and note what was skipped."""
    skipped = list(item.skipped)
    ranked, level2 = scores
    if vector is None:
        skipped.append("embedding: no text to embed")
        skipped.append("topics: no IPTC topic without text")
    elif encoder.startswith("hashing"):
        skipped.append("embedding: model unavailable, lexical hashing vectors used")
    if ranked and not language.is_english(item.language):
        ranked = []  # the classifier learnt from English examples only
        skipped.append(f"topics: IPTC classifier is English-only, language is {item.language or 'unknown'}")
    iptc = topics.select_iptc(ranked)
    children = topics.select_level2(level2, iptc) if ranked else []
    key_points = keypoints.choose_key_points(
        item.candidates, sentence_vectors, vector, item.source.standfirst
    )
    if len(key_points) < 2:
        skipped.append("key_points: fewer than two prose sentences in the body")
    return Enrichment(
        language=item.language,
        entities=ents,
        topics=topics.build_topics([*iptc, *children], item.source.tags, ents, item.source.title),
        iptc_topic=iptc[0] if iptc else None,
        key_points=key_points,
        embedding=vector.astype(np.float32) if vector is not None else None,
        embedding_model=encoder if vector is not None else None,
        versions=dict(stamp),
        skipped=skipped,
        extra={
            "iptc_scores": {name: round(p, 4) for name, p in ranked[:3]},
            # the best second level under each chosen top level, assigned or not
            "iptc_level2": {k: round(p, 4) for top in iptc for k, p in topics.within_parent(level2, top)[:1]},
        },
    )
