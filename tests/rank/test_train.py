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


def _impressions(n: int, seed: int = 2) -> tuple[list[tuple[dict[str, float], bool]], list[int]]:
    """Long lists are shown when much is popular, short ones when little is; each impression gets one click,
    on what is popular within it. Pooled over impressions, popular items look unclicked (1 in 40 against 1 in
    6), though within every impression popularity decides."""
    rng = np.random.default_rng(seed)
    out, keys = [], []
    for impression in range(n):
        long_list = bool(rng.uniform() < 0.5)
        size, low = (40, 0.5) if long_list else (6, 0.0)
        pop, fresh = rng.uniform(low, low + 0.5, size), rng.uniform(0.0, 1.0, size)
        chance = np.exp(6 * pop) / np.exp(6 * pop).sum()
        clicked = int(rng.choice(size, p=chance))
        for j in range(size):
            out.append(({"popularity": float(pop[j]), "freshness": float(fresh[j])}, j == clicked))
            keys.append(impression)
    return out, keys


def test_learns_the_order_within_impressions_not_between_them() -> None:
    logged, keys = _impressions(400)
    weights, report = train_weights(logged, impressions=keys)
    assert report["adopted"] and report["impressions"] == 400
    assert report["auc_new"] > report["auc_current"] + 0.02  # mean per-impression AUC on held-out rows
    assert weights["popularity"] > 0.0 and weights["popularity"] > 5 * abs(weights["freshness"])
    # Without the impressions every row is compared with every other, and the lists' sizes mislead.
    pooled, _ = train_weights(logged)
    assert pooled["popularity"] < 0.0


def test_impressions_must_match_the_log() -> None:
    logged, keys = _impressions(10)
    with pytest.raises(ValueError, match="one impression per logged row"):
        train_weights(logged, impressions=keys[:-1])
