"""Accuracy of the IPTC top-level topic classifier on AG News (4 classes) and BBC News (5 classes).

The classifier predicts one of the 17 IPTC top levels. Each prediction is mapped to the data set's class
as the section of that data set where such an article would run, and counted correct when that class
matches the gold label. The classifier is trained only on Tidings' own example sentences, never on these
data sets, so all rows are test rows.

AG News (international wire news):
- Sports <- sport
- Business <- business (IPTC economy, business and finance), labour
- Sci/Tech <- science and technology, health, environment (AG files medicine, space and nature there)
- World <- every other level (politics, conflict, crime and law, disaster and accident, society, religion,
  education, human interest, lifestyle, arts and entertainment, weather)

BBC News (UK site sections):
- sport <- sport
- business <- business, labour
- tech <- science and technology
- entertainment <- arts and entertainment, lifestyle, human interest
- politics <- every other level (politics, conflict, crime and law, society, education, health, religion,
  environment, disaster and accident, weather)
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from tidings.config import Settings
from tidings.enrich.embeddings import compose_article_text, embed_texts
from tidings.enrich.iptc_examples import IPTC_EXAMPLES
from tidings.enrich.iptc_level2_examples import IPTC_LEVEL2_EXAMPLES
from tidings.enrich.topics import LEVEL2_TARGET_PRECISION, classify_topics, within_parent
from tidings.vocabulary import parent_topic

AG_LABELS = {"1": "World", "2": "Sports", "3": "Business", "4": "Sci/Tech"}
AG_MAP = {
    "sport": "Sports",
    "business": "Business",
    "labour": "Business",
    "science and technology": "Sci/Tech",
    "health": "Sci/Tech",
    "environment": "Sci/Tech",
}
AG_DEFAULT = "World"
BBC_MAP = {
    "sport": "sport",
    "business": "business",
    "labour": "business",
    "science and technology": "tech",
    "arts and entertainment": "entertainment",
    "lifestyle": "entertainment",
    "human interest": "entertainment",
}
BBC_DEFAULT = "politics"
BBC_CLASSES = ("business", "entertainment", "politics", "sport", "tech")


def predict_iptc(titles: list[str], bodies: list[str], settings: Settings) -> list[str]:
    """The winning IPTC top level for each (title, body), embedded as enrichment embeds articles."""
    texts = [compose_article_text(t, b) for t, b in zip(titles, bodies, strict=True)]
    ranked = classify_topics(embed_texts(texts, settings), settings)
    return [r[0][0].casefold() for r in ranked]  # maps below use the folded topic keys


def score(gold: list[str], predicted: list[str]) -> dict[str, Any]:
    """Accuracy, per-class accuracy and the confusion counts of mapped predictions."""
    pairs = Counter(zip(gold, predicted, strict=True))
    totals = Counter(gold)
    per_class = {c: round(pairs[(c, c)] / n, 4) for c, n in sorted(totals.items())}
    correct = sum(n for (g, p), n in pairs.items() if g == p)
    return {
        "n": len(gold),
        "accuracy": round(correct / len(gold), 4) if gold else 0.0,
        "per_class": per_class,
        "confusion": {f"{g} -> {p}": n for (g, p), n in sorted(pairs.items())},
    }


def read_ag_news(csv_path: Path, limit: int | None = None) -> list[tuple[str, str, str]]:
    """(label, title, description) rows of the AG News CSV, optionally an evenly spread sample."""
    with open(csv_path, encoding="utf-8", newline="") as handle:
        rows = [(AG_LABELS[r["label"]], r["title"], r["description"]) for r in csv.DictReader(handle)]
    return spread_sample(rows, limit)


def read_bbc_news(directory: Path, limit: int | None = None) -> list[tuple[str, str, str]]:
    """(class, title, body) for the BBC News files (title on the first line)."""
    rows = []
    for label in BBC_CLASSES:
        for path in sorted((directory / label).glob("*.txt")):
            title, _, body = path.read_text(encoding="utf-8", errors="replace").partition("\n")
            rows.append((label, title.strip(), body.strip()))
    return spread_sample(rows, limit)


def spread_sample(rows: list[tuple[str, str, str]], limit: int | None) -> list[tuple[str, str, str]]:
    """Every k-th row so that a sample keeps the class mix of the whole set."""
    if limit is None or limit >= len(rows):
        return rows
    step = len(rows) / limit
    return [rows[int(i * step)] for i in range(limit)]


def evaluate_topics_ag_news(csv_path: Path, settings: Settings, limit: int | None = None) -> dict[str, Any]:
    """Accuracy of the IPTC classifier on AG News with the 4 classes mapped as documented above."""
    rows = read_ag_news(Path(csv_path), limit)
    predicted = predict_iptc([r[1] for r in rows], [r[2] for r in rows], settings)
    return score([r[0] for r in rows], [AG_MAP.get(p, AG_DEFAULT) for p in predicted])


def evaluate_topics_bbc(directory: Path, settings: Settings, limit: int | None = None) -> dict[str, Any]:
    """Accuracy of the IPTC classifier on BBC News with the 5 classes mapped as documented above."""
    rows = read_bbc_news(Path(directory), limit)
    predicted = predict_iptc([r[1] for r in rows], [r[2] for r in rows], settings)
    return score([r[0] for r in rows], [BBC_MAP.get(p, BBC_DEFAULT) for p in predicted])


REGULARISATION_GRID = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
CV_FOLDS = 5


def cross_validate_regularisation(settings: Settings) -> dict[str, Any]:
    """Stratified k-fold accuracy of the topic classifier on its own example sentences for each C of the
    grid: how `topics.REGULARISATION` is chosen (the evaluation sets play no part)."""
    # Deferred: scikit-learn is slow to import; only this grid search needs it.
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    labels = list(IPTC_EXAMPLES)
    texts = [text for label in labels for text in IPTC_EXAMPLES[label]]
    targets = np.array([i for i, label in enumerate(labels) for _ in IPTC_EXAMPLES[label]])
    vectors = embed_texts(texts, settings)
    folds = StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=0)
    grid = {}
    for c in REGULARISATION_GRID:
        scores = cross_val_score(LogisticRegression(C=c, max_iter=2000), vectors, targets, cv=folds)
        grid[str(c)] = {"mean": round(float(scores.mean()), 4), "sd": round(float(scores.std()), 4)}
    best = max(REGULARISATION_GRID, key=lambda c: (grid[str(c)]["mean"], -c))  # ties: stronger penalty
    return {"examples": len(texts), "folds": CV_FOLDS, "grid": grid, "best": best}


LEVEL2_THRESHOLDS = (0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def cross_validate_level2(settings: Settings) -> dict[str, Any]:
    """Stratified k-fold figures of the second-level classifier on its own example sentences: accuracy
    among the true top level's children for each C (mean ± sd over folds) beside the most-frequent-child
    baseline, then out-of-fold precision and coverage at each threshold; the chosen threshold is the lowest
    whose precision reaches `topics.LEVEL2_TARGET_PRECISION` (the evaluation sets play no part)."""
    # Deferred: scikit-learn is slow to import and only this cross-validation needs it.
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    labels = list(IPTC_LEVEL2_EXAMPLES)
    texts = [t for label in labels for t in IPTC_LEVEL2_EXAMPLES[label]]
    targets = np.array([i for i, label in enumerate(labels) for _ in IPTC_LEVEL2_EXAMPLES[label]])
    vectors = embed_texts(texts, settings)
    folds = list(StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=0).split(vectors, targets))
    grid: dict[str, Any] = {}
    pooled: dict[float, list[tuple[bool, float]]] = {}
    for c in REGULARISATION_GRID:
        accs, base, oof = [], [], []
        for train, test in folds:
            clf = LogisticRegression(C=c, max_iter=2000).fit(vectors[train], targets[train])
            counts = Counter(labels[int(t)] for t in targets[train])
            for row, gold in zip(clf.predict_proba(vectors[test]), targets[test], strict=True):
                truth = labels[int(gold)]
                parent = parent_topic(truth) or ""
                best, p = within_parent(dict(zip(labels, map(float, row), strict=True)), parent)[0]
                siblings = [k for k in labels if parent_topic(k) == parent]
                majority = max(siblings, key=lambda k: (counts[k], -siblings.index(k)))
                oof.append((best == truth, p))
                base.append(majority == truth)
            fold_hits = oof[-len(test) :]
            accs.append(sum(h for h, _ in fold_hits) / len(test))
        grid[str(c)] = {"mean": round(float(np.mean(accs)), 4), "sd": round(float(np.std(accs)), 4)}
        grid[str(c)]["baseline"] = round(sum(base) / len(base), 4)
        pooled[c] = oof
    best_c = max(REGULARISATION_GRID, key=lambda c: (grid[str(c)]["mean"], -c))
    table = {}
    for t in LEVEL2_THRESHOLDS:
        kept = [hit for hit, p in pooled[best_c] if p >= t]
        table[str(t)] = {
            "precision": round(sum(kept) / len(kept), 4) if kept else 1.0,
            "coverage": round(len(kept) / len(pooled[best_c]), 4),
        }
    good = [t for t in LEVEL2_THRESHOLDS if table[str(t)]["precision"] >= LEVEL2_TARGET_PRECISION]
    return {
        "examples": len(texts),
        "labels": len(labels),
        "folds": CV_FOLDS,
        "grid": grid,
        "best_c": best_c,
        "thresholds": table,
        "threshold": min(good) if good else None,
    }
