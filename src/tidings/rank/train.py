"""Fit the additive weights on an instance's own logged impressions; adopt them only if they win."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from tidings.rank.scoring import DEFAULT_WEIGHTS, FEATURES, WARM_SIGNALS

MIN_EXAMPLES = 50


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


def _auc(x: npt.NDArray[np.float64], y: npt.NDArray[np.int64], w: npt.NDArray[np.float64]) -> float:
    return float(roc_auc_score(y, x @ w))


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


def train_weights(
    logged: Sequence[tuple[Mapping[str, float], bool]],
    current: Mapping[str, float] | None = None,
    holdout: float = 0.2,
    seed: int = 0,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Logistic regression over the named features; returns (weights to use, report).

    The weights stay one per feature, so every score is still an exact sum of reasons. The new weights are
    adopted only if their AUC on a held-out split beats the current weights'.
    """
    base = dict(DEFAULT_WEIGHTS)
    base.update(current or {})
    w_now = np.array([base[n] for n in FEATURES], dtype=np.float64)
    x, y = features_matrix(logged)
    report: dict[str, Any] = {"examples": len(y), "clicks": int(y.sum()), "adopted": False}
    if len(y) < MIN_EXAMPLES or y.min() == y.max():
        report["reason"] = f"need at least {MIN_EXAMPLES} examples with both clicks and skips"
        return base, report
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = max(1, int(len(y) * holdout))
    test, train = order[:n_test], order[n_test:]
    if y[test].min() == y[test].max() or y[train].min() == y[train].max():
        report["reason"] = "held-out or training split has only one class"
        return base, report
    model = LogisticRegression(C=1.0, max_iter=1000)
    model.fit(x[train], y[train])
    w_new = model.coef_[0].astype(np.float64)
    # Features that never varied in the log carry no evidence: keep their current weight (e.g. follows).
    constant = x[train].std(axis=0) == 0
    w_new[constant] = 0.0
    scale = np.abs(w_now[~constant]).sum() / max(np.abs(w_new).sum(), 1e-12)
    w_new = w_new * scale
    w_new[constant] = w_now[constant]
    auc_now, auc_new = _auc(x[test], y[test], w_now), _auc(x[test], y[test], w_new)
    adopted = auc_new > auc_now
    report.update(
        {
            "auc_current": auc_now,
            "auc_new": auc_new,
            "adopted": adopted,
            "train": int(train.size),
            "held_out": int(test.size),
        }
    )
    chosen = w_new if adopted else w_now
    report["crowd_by_profile"] = crowd_by_profile(dict(zip(FEATURES, chosen, strict=True)))
    return {n: float(v) for n, v in zip(FEATURES, chosen, strict=True)}, report
