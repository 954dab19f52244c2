"""B-cubed against hand-computed values."""

from __future__ import annotations

import pytest

from tidings.eval.bcubed import bcubed


def test_perfect_clustering_scores_one() -> None:
    gold = {"a": 1, "b": 1, "c": 2}
    assert bcubed({"a": "x", "b": "x", "c": "y"}, gold) == (1.0, 1.0, 1.0)


def test_hand_computed_example() -> None:
    # gold {a,b,c} {d}; pred {a,b} {c,d}.
    # precision per item: a 1, b 1, c 1/2, d 1/2 -> 0.75; recall: a 2/3, b 2/3, c 1/3, d 1 -> 2/3.
    p, r, f = bcubed({"a": 1, "b": 1, "c": 2, "d": 2}, {"a": "g", "b": "g", "c": "g", "d": "h"})
    assert p == pytest.approx(0.75)
    assert r == pytest.approx(2 / 3)
    assert f == pytest.approx(2 * 0.75 * (2 / 3) / (0.75 + 2 / 3))


def test_all_in_one_cluster_has_full_recall_low_precision() -> None:
    gold = {i: i for i in range(4)}
    p, r, _ = bcubed(dict.fromkeys(range(4), 0), gold)
    assert (p, r) == (pytest.approx(0.25), 1.0)


def test_items_missing_from_prediction_are_ignored_and_empty_is_zero() -> None:
    assert bcubed({}, {"a": 1}) == (0.0, 0.0, 0.0)
    assert bcubed({"a": 1, "z": 9}, {"a": 1})[2] == 1.0
