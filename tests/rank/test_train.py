"""train_weights: logistic regression that keeps the model additive and adopts only on a held-out win."""

from __future__ import annotations

import numpy as np
import pytest

from tidings.rank import DEFAULT_WEIGHTS, train_weights


def _log(n: int, informative: bool, seed: int = 0) -> list[tuple[dict[str, float], bool]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        feats = {
            "popularity": float(rng.uniform()),
            "freshness": float(rng.uniform()),
            "sim_long": float(rng.uniform()),
        }
        # Clicks follow popularity only, which the defaults underweight against freshness and similarity.
        logit = 6 * feats["popularity"] - 3 if informative else 0.0
        out.append((feats, bool(rng.uniform() < 1 / (1 + np.exp(-logit)))))
    return out


def test_learns_and_adopts_when_it_wins_on_held_out_data() -> None:
    weights, report = train_weights(_log(2000, informative=True))
    assert report["adopted"] and report["auc_new"] > report["auc_current"]
    assert weights["popularity"] > weights["freshness"]
    # Signals absent from the log keep their weight, so follows still work.
    assert weights["follow_topic"] == DEFAULT_WEIGHTS["follow_topic"]


def test_keeps_current_weights_without_enough_evidence() -> None:
    weights, report = train_weights(_log(20, informative=True))
    assert not report["adopted"] and weights == DEFAULT_WEIGHTS


def test_rejects_unknown_features() -> None:
    with pytest.raises(ValueError, match="unknown feature"):
        train_weights([({"horoscope": 1.0}, True)] * 60)


def _profiled_log(n: int, seed: int = 1) -> list[tuple[dict[str, float], bool]]:
    """New readers click what is popular; readers with a long history click what matches their taste."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        new = float(rng.choice([1.0, 0.05]))  # newness(profile): no history vs about 100 signals
        pop, sim = float(rng.uniform()), float(rng.uniform())
        feats = {"popularity": pop, "popularity_new": pop * new, "sim_long": sim * (1 - new)}
        logit = 6 * (pop if new > 0.5 else sim) - 3
        out.append((feats, bool(rng.uniform() < 1 / (1 + np.exp(-logit)))))
    return out


def test_learns_to_trust_popularity_more_for_new_readers() -> None:
    weights, report = train_weights(_profiled_log(3000))
    assert report["adopted"]
    crowd = report["crowd_by_profile"]
    assert crowd[0]["popularity"] > 2 * crowd[100]["popularity"]
    assert weights["popularity_new"] > weights["popularity"]


def test_newness_falls_with_positive_signals() -> None:
    from tidings.rank.profile import Profile
    from tidings.rank.scoring import WARM_SIGNALS, newness

    assert newness(Profile()) == 1.0
    warm = Profile(counts={"click": int(WARM_SIGNALS), "impression": 500})
    assert newness(warm) == 0.5  # impressions are not taste
