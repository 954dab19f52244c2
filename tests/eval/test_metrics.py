"""Ranking metrics against hand-computed values (MIND paper definitions)."""

from __future__ import annotations

import pytest

from tidings.eval.metrics import auc, evaluate_impressions, mrr, ndcg_at_k

LABELS = [1, 0, 0, 1]
SCORES = [0.9, 0.8, 0.3, 0.1]  # ranked: click, skip, skip, click


def test_auc_counts_correctly_ordered_pairs() -> None:
    # Pairs (click, skip): the 0.9 click beats both skips, the 0.1 click beats none: 2 of 4.
    assert auc(LABELS, SCORES) == pytest.approx(0.5)
    assert auc([0, 1, 0], [0.1, 0.9, 0.5]) == pytest.approx(1.0)
    assert auc([1, 0], [0.5, 0.5]) == pytest.approx(0.5)


def test_mrr_averages_reciprocal_ranks_of_clicks() -> None:
    assert mrr(LABELS, SCORES) == pytest.approx((1 / 1 + 1 / 4) / 2)
    assert mrr([0, 0, 1], [0.3, 0.2, 0.1]) == pytest.approx(1 / 3)


def test_ndcg_uses_exponential_gain_and_log_discount() -> None:
    # DCG = 1/log2(2) + 1/log2(5) = 1.430677; ideal = 1 + 1/log2(3) = 1.630930.
    assert ndcg_at_k(LABELS, SCORES, 5) == pytest.approx(1.430677 / 1.630930, abs=1e-6)
    assert ndcg_at_k(LABELS, SCORES, 2) == pytest.approx(1 / 1.630930, abs=1e-6)
    assert ndcg_at_k([0, 1], [0.2, 0.1], 1) == 0.0


def test_evaluate_averages_per_impression_and_skips_one_class_impressions() -> None:
    result = evaluate_impressions([(LABELS, SCORES), ([0, 1, 0], [0.1, 0.9, 0.5]), ([1, 1], [0.2, 0.1])])
    assert result["impressions"] == 2
    assert result["auc"] == pytest.approx(0.75)
    assert result["mrr"] == pytest.approx((0.625 + 1.0) / 2)
