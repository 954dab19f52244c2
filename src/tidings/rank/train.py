"""Fit the additive weights on an instance's own logged impressions; adopt them only if they win.

Only the order of the items shown together matters to a reader (and to MIND's AUC, averaged per impression),
so the weights are learned from pairs within one impression, a clicked item against one it passed over, and
judged by the mean per-impression AUC on held-out rows. A pooled fit would also learn what differs between
impressions (a long list has fewer clicks per item), which cannot change any order a reader sees.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from tidings.rank.scoring import DEFAULT_WEIGHTS, FEATURES, WARM_SIGNALS

MIN_EXAMPLES = 50
NEGATIVES_PER_CLICK = 20  # sampled from its own impression, as MIND-trained models do; bounds the pairs


def features_matrix(
    logged: Sequence[tuple[Mapping[str, float], bool]],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Feature rows in FEATURES order and 0/1 labels; unknown feature names raise ValueError."""
    x = np.zeros((len(logged), len(FEATURES)), dtype=np.float64)
    y = np.zeros(len(logged), dtype=np.int64)
    col = {name: i for i, name in enumerate(FEATURES)}
    for r, (features, clicked) in enumerate(logged):
        for name, value in features.items():
            if name not in col:
                raise ValueError(f"unknown feature {name!r} in logged impression {r}")
            x[r, col[name]] = float(value)
        y[r] = int(bool(clicked))
    return x, y


def _by_group(rows: npt.NDArray[np.int64], groups: npt.NDArray[np.int64]) -> list[npt.NDArray[np.int64]]:
    """The given rows split by impression."""
    found: dict[int, list[int]] = defaultdict(list)
    for r in rows:
        found[int(groups[r])].append(int(r))
    return [np.array(v, dtype=np.int64) for v in found.values()]


def impression_auc(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.int64],
    impressions: list[npt.NDArray[np.int64]],
    w: npt.NDArray[np.float64],
) -> float | None:
    """Mean AUC over the impressions (row groups) that hold both a click and a skip; None when none does."""
    aucs = [float(roc_auc_score(y[g], x[g] @ w)) for g in impressions if 0 < y[g].sum() < g.size]
    return float(np.mean(aucs)) if aucs else None


def click_pairs(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.int64],
    groups: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
    rng: np.random.Generator,
) -> npt.NDArray[np.float64]:
    """Feature differences, clicked minus skipped, for pairs shown in one impression."""
    diffs = []
    for g in _by_group(rows, groups):
        clicked, skipped = g[y[g] == 1], g[y[g] == 0]
        for c in clicked:
            if skipped.size > NEGATIVES_PER_CLICK:
                chosen = rng.choice(skipped, NEGATIVES_PER_CLICK, replace=False)
            else:
                chosen = skipped
            diffs.append(x[c] - x[chosen])
    return np.concatenate(diffs) if diffs else np.zeros((0, x.shape[1]))


def crowd_by_profile(weights: Mapping[str, float]) -> dict[int, dict[str, float]]:
    """Effective popularity and coverage weights for readers with 0, 5, 20 and 100 positive signals."""
    out = {}
    for signals in (0, 5, 20, 100):
        new = 1.0 / (1.0 + signals / WARM_SIGNALS)
        out[signals] = {
            "popularity": round(weights["popularity"] + new * weights["popularity_new"], 3),
            "story_size": round(weights["story_size"] + new * weights["story_size_new"], 3),
            "sim_long": round(weights["sim_long"], 3),
        }
    return out


def _fit_pairs(diffs: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Logistic regression without intercept on the pairs, each seen both ways (clicked first, then last)."""
    both = np.concatenate([diffs, -diffs])
    labels = np.concatenate([np.ones(len(diffs)), np.zeros(len(diffs))])
    model = LogisticRegression(C=1.0, max_iter=1000, fit_intercept=False)
    model.fit(both, labels)
    return np.asarray(model.coef_[0], dtype=np.float64)


def train_weights(
    logged: Sequence[tuple[Mapping[str, float], bool]],
    current: Mapping[str, float] | None = None,
    holdout: float = 0.2,
    seed: int = 0,
    impressions: Sequence[Hashable] | None = None,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Pairwise logistic regression within impressions over the named features; returns (weights, report).

    `impressions` names the impression of each logged row (rows shown together); without it all rows count
    as one impression. The weights stay one per feature, so every score is still an exact sum of reasons. The
    new weights are adopted only if their mean per-impression AUC on held-out rows beats the current ones'.
    """
    base = dict(DEFAULT_WEIGHTS)
    base.update(current or {})
    w_now = np.array([base[n] for n in FEATURES], dtype=np.float64)
    x, y = features_matrix(logged)
    keys = list(impressions) if impressions is not None else [0] * len(logged)
    if len(keys) != len(logged):
        raise ValueError("impressions must name one impression per logged row")
    index = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    groups = np.array([index[k] for k in keys], dtype=np.int64)
    report: dict[str, Any] = {
        "examples": len(y),
        "clicks": int(y.sum()),
        "impressions": len(index),
        "adopted": False,
    }
    if len(y) < MIN_EXAMPLES or y.min() == y.max():
        report["reason"] = f"need at least {MIN_EXAMPLES} examples with both clicks and skips"
        return base, report
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    n_test = max(1, int(len(y) * holdout))
    test, train = order[:n_test], order[n_test:]
    diffs = click_pairs(x, y, groups, train, rng)
    held_out = _by_group(test, groups)  # split once: both weight sets are judged on it
    auc_now = impression_auc(x, y, held_out, w_now)
    if auc_now is None or not len(diffs):
        report["reason"] = "no impression holds both a click and a skip in the held-out or training rows"
        return base, report
    # Signals that never differ within an impression carry no evidence: keep their current weight.
    constant = np.abs(diffs).max(axis=0) == 0
    w_new = _fit_pairs(diffs)
    w_new[constant] = 0.0
    scale = np.abs(w_now[~constant]).sum() / max(np.abs(w_new).sum(), 1e-12)
    w_new = w_new * scale
    w_new[constant] = w_now[constant]
    auc_new = impression_auc(x, y, held_out, w_new)
    adopted = auc_new is not None and auc_new > auc_now
    report.update(
        {
            "auc_current": auc_now,
            "auc_new": auc_new,
            "adopted": adopted,
            "train": int(train.size),
            "held_out": int(test.size),
            "pairs": len(diffs),
        }
    )
    chosen = w_new if adopted else w_now
    report["crowd_by_profile"] = crowd_by_profile(dict(zip(FEATURES, chosen, strict=True)))
    return {n: float(v) for n, v in zip(FEATURES, chosen, strict=True)}, report
