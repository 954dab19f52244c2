"""`tidings eval pairs`: same-story decisions on labelled article pairs, with precision/recall/F1 and AUC.

Every text goes through `tidings ingest` into a temporary store (see `story_gold.ingest_labelled`), and each
pair is scored by the production signature (`pipeline.story_placement.signature_for`) and pair scorer
(`stories.scoring.pair_match`). Two inputs are read: a pairs file (`title_1`, `text_1`, `title_2`, `text_2`,
`same_story`, and optionally `published_1`, `published_2`), or an event-labelled JSONL, from which every
same-event pair and, per article, four other-event articles (its nearest by embedding, two of its 50
nearest and one at random) become the pairs. The baseline beside it is the plain MiniLM cosine at its best
threshold on the same pairs, and at a threshold chosen by k-fold cross-validation. `--fit` also learns from a
summary view of each labelled set (every text cut to the first words of its paragraphs, as feed items carry),
so the decision holds for feed summaries as well as for full articles.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_curve, precision_recall_fscore_support, roc_auc_score
from sklearn.model_selection import GroupKFold

from tidings.config import Settings
from tidings.eval.story_gold import event_group, ingest_labelled, read_labelled, signatures, spread
from tidings.stories.centroid_index import EntityIdf
from tidings.stories.scoring import PairFeatures, PairWeights, pair_features, pair_match
from tidings.stories.signature import ArticleSignature

# Negatives per article in a labelled set: its nearest other-event article, two drawn from its 50 nearest, and
# one drawn from the whole set, so the pairs hold near misses as well as plainly different stories.
NEAR_NEGATIVES = 2
NEAR_POOL = 50
MAX_POSITIVES_PER_EVENT = 60
# A summary view keeps this many words of a text's paragraphs of at least SUMMARY_PARAGRAPH_WORDS words
# (shorter lines are bylines, captions and prompts): about what a feed item's description holds.
SUMMARY_WORDS = 45
SUMMARY_PARAGRAPH_WORDS = 8


@dataclass
class LabelledPairs:
    """Signatures of every text, and the labelled pairs as (index, index, same story, fold group)."""

    name: str
    sigs: list[ArticleSignature]
    pairs: list[tuple[int, int, bool, str]]


def _text_url(title: str, text: str) -> str:
    # An http(s) URL on the reserved .invalid domain: ingest keeps only http(s) URLs, and the URL is the key
    # that links a stored article back to its labelled text.
    return "https://pairs.invalid/" + hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()[:24]


def read_pairs_file(path: Path, settings: Settings, cache_dir: Path) -> LabelledPairs:
    """Ingest the distinct texts of a pairs JSONL file and return their signatures and the labelled pairs."""
    raw = [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
    rows: dict[str, dict[str, Any]] = {}
    urls = []
    for row in raw:
        pair = []
        for side in ("1", "2"):
            title, text = str(row.get(f"title_{side}") or ""), str(row.get(f"text_{side}") or "")
            url = _text_url(title, text)
            text_row = {"url": url, "title": title, "text": text, "event": url}
            # A pair may carry each side's publication date, as a feed item does; without one, both sides are
            # dated by their arrival, as undated items are in production.
            if row.get(f"published_{side}"):
                text_row["published"] = str(row[f"published_{side}"])
            rows.setdefault(url, text_row)
            pair.append(url)
        urls.append((pair[0], pair[1], bool(row["same_story"])))
    if not rows:
        return LabelledPairs(path.name, [], [])
    ingested = ingest_labelled(list(rows.values()), settings, cache_dir, path.name)
    sigs = signatures(ingested)
    slot = {aid: i for i, aid in enumerate(ingested.ids)}
    index = {url: slot[ingested.id_of[url]] for url in rows}
    pairs = [(index[a], index[b], same, str(n)) for n, (a, b, same) in enumerate(urls)]
    return LabelledPairs(path.name, sigs, pairs)


def labelled_set_pairs(
    path: Path, settings: Settings, cache_dir: Path, max_articles: int | None = None
) -> LabelledPairs:
    """Pairs from an event-labelled JSONL: same-event pairs and each article's nearest other-event ones."""
    return labelled_rows_pairs(read_labelled(path, max_articles), path.name, settings, cache_dir)


def summary_text(text: str) -> str:
    """A feed-summary stand-in: the first SUMMARY_WORDS words of the text's longer paragraphs."""
    words: list[str] = []
    for paragraph in text.split("\n"):
        if len(paragraph.split()) >= SUMMARY_PARAGRAPH_WORDS:
            words.extend(paragraph.split())
        if len(words) >= SUMMARY_WORDS:
            break
    return " ".join(words[:SUMMARY_WORDS])


def summary_view(
    path: Path, settings: Settings, cache_dir: Path, max_articles: int | None = None
) -> LabelledPairs:
    """The labelled set's pairs with every text cut to a summary (titles kept), ingested on their own.

    The view carries the set's name, so both views of an event fall in the same cross-validation fold."""
    rows = [
        {**row, "url": f"{row['url']}#summary", "text": summary_text(str(row.get("text") or ""))}
        for row in read_labelled(path, max_articles)
    ]
    return labelled_rows_pairs(rows, path.name, settings, cache_dir)


def labelled_rows_pairs(
    rows: list[dict[str, Any]], name: str, settings: Settings, cache_dir: Path
) -> LabelledPairs:
    """Pairs from event-labelled rows, ingested into a temporary store (see labelled_set_pairs)."""
    ingested = ingest_labelled(rows, settings, cache_dir, name)
    sigs = signatures(ingested)
    events = [ingested.gold[s.article_id] for s in sigs]
    members: dict[str, list[int]] = {}
    for i, ev in enumerate(events):
        members.setdefault(ev, []).append(i)
    pairs: list[tuple[int, int, bool, str]] = []
    for ev, idx in members.items():
        same = list(itertools.combinations(idx, 2))[:MAX_POSITIVES_PER_EVENT]
        pairs.extend((i, j, True, event_group(ev)) for i, j in same)
    vectors = np.vstack([s.embedding if s.embedding is not None else np.zeros(384, np.float32) for s in sigs])
    sims = vectors @ vectors.T
    seen: set[tuple[int, int]] = set()
    rng = random.Random(14)
    for i, ev in enumerate(events):
        ranked = [int(j) for j in np.argsort(-sims[i]) if events[j] != ev]
        if not ranked:
            continue
        near = ranked[1:NEAR_POOL]
        others = [ranked[0], *rng.sample(near, min(NEAR_NEGATIVES, len(near))), rng.choice(ranked)]
        for j in others:
            key = (min(i, int(j)), max(i, int(j)))
            if key not in seen:
                seen.add(key)
                # A negative straddles two event groups: it goes with the first one's fold.
                pairs.append((key[0], key[1], False, event_group(events[key[0]])))
    return LabelledPairs(name, sigs, pairs)


def load_pairs(
    path: Path, settings: Settings, cache_dir: Path, max_articles: int | None = None
) -> LabelledPairs:
    """A pairs file (rows with `same_story`) or an event-labelled set (rows with `event`)."""
    if is_labelled_set(path):
        return labelled_set_pairs(path, settings, cache_dir, max_articles)
    return read_pairs_file(path, settings, cache_dir)


def is_labelled_set(path: Path) -> bool:
    """Whether a JSONL file is an event-labelled set (its first row has `event`), not a pairs file."""
    with path.open(encoding="utf-8") as handle:
        first = next((line for line in handle if line.strip()), "")
    return bool(first) and "event" in json.loads(first)


def corpus_idf(sigs: Sequence[ArticleSignature]) -> dict[str, float]:
    """Entity IDF over signatures in ingest order: the store's live IDF at the end of its ingest."""
    idf = EntityIdf()
    for sig in sigs:
        idf.observe(sig.idf_keys)
    return dict(idf)


def feature_matrix(data: LabelledPairs) -> np.ndarray:
    """The production pair features of every pair (see stories.scoring.pair_features)."""
    idf = corpus_idf(data.sigs)
    return np.array([pair_features(data.sigs[i], data.sigs[j], idf) for i, j, _, _ in data.pairs])


def summarise(labels: Sequence[bool], scores: Sequence[float], decisions: Sequence[bool]) -> dict[str, Any]:
    """Precision, recall, F1 of decisions and AUC of scores."""
    p, r, f, _ = precision_recall_fscore_support(labels, decisions, average="binary", zero_division=0.0)
    auc = float(roc_auc_score(labels, scores)) if len(set(labels)) == 2 else float("nan")
    return {"pairs": len(labels), "precision": round(float(p), 4), "recall": round(float(r), 4),
            "f1": round(float(f), 4), "auc": round(auc, 4)}  # fmt: skip


def best_threshold(labels: Sequence[bool], scores: Sequence[float]) -> tuple[float, float]:
    """(threshold, F1) of the best `score >= threshold` rule."""
    if not any(labels):
        return 1.0, 0.0
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
    best = int(np.argmax(f1))
    return float(thresholds[best]), float(f1[best])


def cosine_cv(labels: np.ndarray, cos: np.ndarray, groups: Sequence[str], folds: int) -> list[float]:
    """Held-out F1 of the cosine threshold chosen on the other folds (folds split by event group)."""
    out = []
    for train, test in GroupKFold(n_splits=folds).split(cos, labels, groups):
        t, _ = best_threshold(list(labels[train]), list(cos[train]))
        decisions = cos[test] >= t
        out.append(float(precision_recall_fscore_support(labels[test], decisions, average="binary",
                                                         zero_division=0.0)[2]))  # fmt: skip
    return out


def evaluate_pairs(
    path: Path, settings: Settings, cache_dir: Path, folds: int = 5, max_articles: int | None = None
) -> dict[str, Any]:
    """Tidings' pair decisions on a pairs file or labelled set, with the MiniLM cosine baseline."""
    data = load_pairs(path, settings, cache_dir, max_articles)
    if not data.pairs:
        return {
            "pairs": 0,
            "precision": 0.0,
            "recall": 0.0,
            "f1": 0.0,
            "auc": float("nan"),
            "data": path.name,
        }
    idf = corpus_idf(data.sigs)
    labels = [same for _, _, same, _ in data.pairs]
    matches = [pair_match(data.sigs[i], data.sigs[j], idf) for i, j, _, _ in data.pairs]
    out = summarise(labels, [m.probability for m in matches], [m.is_match for m in matches])
    out.update(data=path.name, positives=sum(labels))
    cos = np.array([m.cosine for m in matches])
    threshold, f1 = best_threshold(labels, list(cos))
    auc = round(float(roc_auc_score(labels, cos)), 4) if len(set(labels)) == 2 else None
    out["cosine_best"] = {"threshold": threshold, "f1": round(f1, 4), "auc": auc}
    groups = [g for _, _, _, g in data.pairs]
    if len(set(groups)) >= folds and len(set(labels)) == 2:
        out["cosine_cv_f1"] = spread(cosine_cv(np.array(labels), cos, groups, folds))
    return out


def fit_pair_weights(
    paths: Sequence[Path],
    settings: Settings,
    cache_dir: Path,
    folds: int = 5,
    max_articles: int | None = None,
) -> dict[str, Any]:
    """Fit the pair logistic regression with k-fold CV over event groups: held-out F1/AUC, coefficients.

    Each labelled set is learned from twice, as full texts and as its summary view; held-out figures are given
    over all pairs and for each view alone."""
    # Deferred: scikit-learn is slow to import; only this fit needs it.
    from sklearn.linear_model import LogisticRegression

    full = [load_pairs(p, settings, cache_dir, max_articles) for p in paths]
    short = [summary_view(p, settings, cache_dir, max_articles) for p in paths if is_labelled_set(p)]
    sets = full + short
    x = np.vstack([feature_matrix(d) for d in sets])
    y = np.array([same for d in sets for _, _, same, _ in d.pairs])
    groups = [f"{d.name}:{g}" for d in sets for _, _, _, g in d.pairs]
    is_short = np.array([i >= len(full) for i, d in enumerate(sets) for _ in d.pairs])
    scores: dict[str, list[float]] = {}
    for train, test in GroupKFold(n_splits=folds).split(x, y, groups):
        model = LogisticRegression(C=1.0, max_iter=1000).fit(x[train], y[train])
        prob = model.predict_proba(x[test])[:, 1]
        t, _ = best_threshold(list(y[train]), list(x[train, 0]))
        for view, keep in (("", slice(None)), ("full_", ~is_short[test]), ("summary_", is_short[test])):
            if len(set(y[test][keep])) < 2:
                continue
            scores.setdefault(f"{view}f1", []).append(_f1(y[test][keep], prob[keep] > 0.5))
            scores.setdefault(f"{view}auc", []).append(float(roc_auc_score(y[test][keep], prob[keep])))
            scores.setdefault(f"{view}cosine_f1", []).append(_f1(y[test][keep], x[test, 0][keep] >= t))
    model = LogisticRegression(C=1.0, max_iter=1000).fit(x, y)
    return {
        "data": [p.name for p in paths],
        "pairs": len(y),
        "positives": int(y.sum()),
        "summary_pairs": int(is_short.sum()),
        **{f"cv_{name}": spread(values) for name, values in scores.items()},
        "transfer": transfer_scores(sets, x, y, is_short),
        "coefficients": {
            n: round(float(c), 3) for n, c in zip(PairFeatures._fields, model.coef_[0], strict=True)
        },
        "bias": round(-float(model.intercept_[0]), 3),
        "shipped": PairWeights().__dict__,
    }


def transfer_scores(
    sets: Sequence[LabelledPairs], x: np.ndarray, y: np.ndarray, is_short: np.ndarray
) -> dict[str, Any]:
    """Each labelled set scored by a fit on the other sets only (both views), beside cosine, per view.

    Within-set folds share a source's style and its kind of event; a set the fit never saw is closer to what
    the owners' held-out sets test. Cosine gets the threshold chosen on the other sets, and its best one on
    this set (in-sample, an upper bound no deployed threshold reaches). Decisions keep the shipped cosine
    floor.
    """
    # Deferred: scikit-learn is slow to import; only the fit needs it.
    from sklearn.linear_model import LogisticRegression

    owner = np.array([d.name for d in sets for _ in d.pairs])
    out: dict[str, Any] = {}
    for name in dict.fromkeys(owner.tolist()):
        train = owner != name
        if len(set(y[train])) < 2:
            continue
        prob = LogisticRegression(C=1.0, max_iter=1000).fit(x[train], y[train]).predict_proba(x)[:, 1]
        t, _ = best_threshold(list(y[train]), list(x[train, 0]))
        joins = (prob > 0.5) & (x[:, 0] >= PairWeights().min_cosine)
        for view, test in (("full", ~train & ~is_short), ("summary", ~train & is_short)):
            if len(set(y[test])) == 2:
                out[f"{name}:{view}"] = {
                    "pairs": int(test.sum()),
                    "f1": round(_f1(y[test], joins[test]), 4),
                    "auc": round(float(roc_auc_score(y[test], prob[test])), 4),
                    "cosine_f1": round(_f1(y[test], x[test, 0] >= t), 4),
                    "cosine_best_f1": round(best_threshold(list(y[test]), list(x[test, 0]))[1], 4),
                }
    return out


def _f1(labels: np.ndarray, decisions: np.ndarray) -> float:
    return float(precision_recall_fscore_support(labels, decisions, average="binary", zero_division=0.0)[2])
