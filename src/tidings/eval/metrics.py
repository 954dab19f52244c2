"""Ranking metrics as the MIND paper defines them: computed per impression, then averaged."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.stats import rankdata

Labels = Sequence[int] | npt.NDArray[np.int64]
Scores = Sequence[float] | npt.NDArray[np.float64]


def _ranked_labels(labels: Labels, scores: Scores) -> npt.NDArray[np.float64]:
    """Labels sorted by descending score (stable, so ties keep their listed order)."""
    y = np.asarray(labels, dtype=np.float64)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    return y[order]


def auc(labels: Labels, scores: Scores) -> float:
    """Area under the ROC curve of one impression (ties count one half), by the rank-sum formula."""
    y = np.asarray(labels) > 0
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs at least one click and one non-click")
    ranks = rankdata(np.asarray(scores, dtype=np.float64))  # average ranks, so ties count one half
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def mrr(labels: Labels, scores: Scores) -> float:
    """MIND's MRR: the mean over clicked items of 1 / rank (i.e. sum of reciprocal ranks / clicks)."""
    ranked = _ranked_labels(labels, scores)
    rr = ranked / (np.arange(ranked.size) + 1)
    return float(rr.sum() / ranked.sum())


def dcg_at_k(labels: Labels, scores: Scores, k: int) -> float:
    """Discounted cumulative gain with gains 2^rel - 1 and discounts log2(rank + 1)."""
    ranked = _ranked_labels(labels, scores)[:k]
    gains = 2.0**ranked - 1.0
    return float(np.sum(gains / np.log2(np.arange(ranked.size) + 2)))


def ndcg_at_k(labels: Labels, scores: Scores, k: int) -> float:
    """DCG@k over the ideal DCG@k of the same labels."""
    ideal = dcg_at_k(labels, np.asarray(labels, dtype=np.float64), k)
    return dcg_at_k(labels, scores, k) / ideal if ideal > 0 else 0.0


def is_scorable(labels: Labels) -> bool:
    """True when an impression has both a click and a non-click (AUC is undefined otherwise)."""
    y = np.asarray(labels)
    return bool(y.size and y.max() != y.min())


def evaluate_impressions(impressions: Sequence[tuple[Labels, Scores]]) -> dict[str, float | int]:
    """Average AUC, MRR, nDCG@5 and nDCG@10 over impressions with at least one click and one skip."""
    rows = [(y, s) for y, s in impressions if is_scorable(y)]
    if not rows:
        return {"impressions": 0, "auc": 0.0, "mrr": 0.0, "ndcg5": 0.0, "ndcg10": 0.0}
    return {
        "impressions": len(rows),
        "auc": float(np.mean([auc(y, s) for y, s in rows])),
        "mrr": float(np.mean([mrr(y, s) for y, s in rows])),
        "ndcg5": float(np.mean([ndcg_at_k(y, s, 5) for y, s in rows])),
        "ndcg10": float(np.mean([ndcg_at_k(y, s, 10) for y, s in rows])),
    }
