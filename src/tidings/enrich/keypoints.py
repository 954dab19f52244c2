"""Key points: 2–4 sentences taken verbatim from the body, chosen by centrality and position.

Candidates are the first `MAX_CANDIDATES` body sentences that look like prose (5–80 words, ending in
sentence punctuation, so inline headlines are skipped). Each is scored by its mean cosine similarity to the
other candidates and to the article embedding (centrality), plus a lead bias that decays with position.
The best are returned in document order; a standfirst, when present, is the first point.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from tidings.enrich.cache import get_or_load

VERSION = "centrality-position-1"
MAX_CANDIDATES = 6  # sentence embeddings cost ~4 ms each on this CPU: keep the candidate list short
SPLIT_CHARS = 4000  # sentence splitting reads only the start of the body
MIN_WORDS = 5
MAX_WORDS = 80
POSITION_WEIGHT = 0.35
TARGET_POINTS = 3
MAX_POINTS = 4
_ENDS_LIKE_SENTENCE = re.compile(r"[.!?。！？؟][\"'”’)\]]*$")


def _sentencizer() -> Any:
    def load() -> Any:
        import spacy

        nlp = spacy.blank("xx")  # multilingual tokenizer; the rule-based sentencizer knows many scripts
        nlp.add_pipe("sentencizer")
        return nlp

    return get_or_load("sentencizer", "xx", load)


def split_sentences(text: str) -> list[str]:
    """Sentences of the first `SPLIT_CHARS` characters of a body, paragraph by paragraph."""
    nlp = _sentencizer()
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n|\n", text[:SPLIT_CHARS]):
        paragraph = paragraph.strip()
        if paragraph:
            sentences.extend(s.text.strip() for s in nlp(paragraph).sents if s.text.strip())
    return sentences


def is_prose(sentence: str) -> bool:
    """Whether a sentence looks like a body sentence rather than a headline, caption or fragment."""
    # Scripts written without spaces (Chinese, Japanese) count roughly two characters per word.
    words = len(sentence.split()) if " " in sentence.strip() else len(sentence) // 2
    return MIN_WORDS <= words <= MAX_WORDS and bool(_ENDS_LIKE_SENTENCE.search(sentence))


def candidate_sentences(text: str) -> list[str]:
    """The sentences key points are chosen from."""
    return [s for s in split_sentences(text) if is_prose(s)][:MAX_CANDIDATES]


def score_sentences(vectors: np.ndarray, doc_vector: np.ndarray | None) -> np.ndarray:
    """Centrality plus lead bias for each candidate sentence vector."""
    n = len(vectors)
    if n == 0:
        return np.zeros(0)
    sims = vectors @ vectors.T
    centrality = (sims.sum(axis=1) - np.diag(sims)) / max(n - 1, 1)
    if doc_vector is not None and doc_vector.shape[0] == vectors.shape[1]:
        centrality = (centrality + vectors @ doc_vector) / 2
    position = 1.0 / np.sqrt(np.arange(1, n + 1))
    return np.asarray(centrality + POSITION_WEIGHT * position)


def choose_key_points(
    candidates: list[str], vectors: np.ndarray, doc_vector: np.ndarray | None, standfirst: str | None
) -> list[str]:
    """Pick 2–4 key points (fewer when the body has fewer sentences), in document order."""
    points = [standfirst.strip()] if standfirst and standfirst.strip() else []
    wanted = min(TARGET_POINTS, MAX_POINTS - len(points), len(candidates))
    if wanted > 0:
        scores = score_sentences(vectors, doc_vector)
        best = sorted(np.argsort(-scores)[:wanted].tolist())
        points.extend(candidates[i] for i in best)
    return points
