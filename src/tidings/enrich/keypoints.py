"""Key points: 2–4 sentences taken verbatim from the body, chosen by centrality and position.

Candidates are the first `MAX_CANDIDATES` body sentences that look like prose (5–80 words, ending in
sentence punctuation, so inline headlines are skipped; not starting in lower case, so fragments are
skipped; not ending at an abbreviation). Each is scored by its mean cosine similarity to the
other candidates and to the article embedding (centrality), plus a lead bias that decays with position.
The best are returned in document order; a standfirst, when present, is the first point.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from tidings.enrich.cache import get_or_load

VERSION = "centrality-position-2"
MAX_CANDIDATES = 6  # sentence embeddings cost ~4 ms each on this CPU: keep the candidate list short
SPLIT_CHARS = 4000  # sentence splitting reads only the start of the body
MIN_WORDS = 5
MAX_WORDS = 80
POSITION_WEIGHT = 0.35
TARGET_POINTS = 3
MAX_POINTS = 4
_ENDS_LIKE_SENTENCE = re.compile(r"[.!?。！？؟][\"'”’)\]]*$")
_OPENING = "\"'“‘«([¿¡-–— "
# Abbreviations that spaCy's English tokenizer exceptions lack ("Mr.", "St.", "Rep.", "U.S." are there);
# as single tokens they can no longer end a sentence.
EXTRA_ABBREVIATIONS = {
    "en": [
        *("Lt.", "Col.", "Sgt.", "Capt.", "Maj.", "Cmdr.", "Cpl.", "Pvt.", "Sr.", "Hon."),
        *("Pres.", "Supt.", "Insp.", "Det.", "Dept.", "Univ.", "Ave.", "Ft.", "approx.", "Nos."),
    ]
}


def _sentencizer(language: str | None) -> Any:
    """spaCy's rule-based sentencizer over the language's own tokenizer, whose exceptions keep
    abbreviations such as "Mr." or "U.S." in one token (so they never end a sentence)."""
    lang = (language or "xx").split("-")[0].lower()

    def load() -> Any:
        # Deferred: spaCy takes about a second to import; loaded once, on first use.
        import spacy

        try:
            nlp = spacy.blank(lang)
        except (ImportError, OSError, KeyError, ValueError):  # a language spaCy has no tokenizer for
            nlp = spacy.blank("xx")
        for abbreviation in EXTRA_ABBREVIATIONS.get(lang, []):
            special = [{"ORTH": abbreviation}]
            nlp.tokenizer.add_special_case(abbreviation, special)  # type: ignore[union-attr]
        nlp.add_pipe("sentencizer")
        return nlp

    return get_or_load("sentencizer", lang, load)


def _paragraphs(text: str) -> Iterator[str]:
    for paragraph in re.split(r"\n\s*\n|\n", text[:SPLIT_CHARS]):
        if paragraph.strip():
            yield paragraph.strip()


def _sentence_spans(text: str, language: str | None) -> Iterator[Any]:
    nlp = _sentencizer(language)
    for paragraph in _paragraphs(text):
        yield from nlp(paragraph).sents


def split_sentences(text: str, language: str | None = None) -> list[str]:
    """Sentences of the first `SPLIT_CHARS` characters of a body, paragraph by paragraph."""
    return [s.text.strip() for s in _sentence_spans(text, language) if s.text.strip()]


def starts_mid_sentence(sentence: str) -> bool:
    """Whether a sentence begins in lower case (after any opening quote): a fragment of a longer one."""
    first = next((ch for ch in sentence if ch not in _OPENING), "")
    # "iPhone", "eBay": a lower-case letter followed by a capital is a name, not a fragment.
    rest = sentence.lstrip(_OPENING)[1:2]
    return first.islower() and not rest.isupper()


def ends_at_abbreviation(span: Any) -> bool:
    """Whether a sentence's last token is an abbreviation ("St.", "U.S."): its end is ambiguous."""
    tokens = [t for t in span if not t.is_space]
    last = tokens[-1].text if tokens else ""
    return len(last) > 1 and last.endswith(".") and not last.endswith("..")


def is_prose(sentence: str) -> bool:
    """Whether a sentence looks like a body sentence rather than a headline, caption or fragment."""
    # Scripts written without spaces (Chinese, Japanese) count roughly two characters per word.
    words = len(sentence.split()) if " " in sentence.strip() else len(sentence) // 2
    if not MIN_WORDS <= words <= MAX_WORDS or starts_mid_sentence(sentence):
        return False
    return bool(_ENDS_LIKE_SENTENCE.search(sentence))


def candidate_sentences(text: str, language: str | None = None) -> list[str]:
    """The sentences key points are chosen from: the first `MAX_CANDIDATES` prose sentences."""
    found: list[str] = []
    for span in _sentence_spans(text, language):
        sentence = span.text.strip()
        if is_prose(sentence) and not ends_at_abbreviation(span):
            found.append(sentence)
            if len(found) >= MAX_CANDIDATES:
                break
    return found


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
