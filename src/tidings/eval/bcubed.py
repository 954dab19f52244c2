"""B-cubed precision, recall and F1 of a clustering against gold clusters (Bagga & Baldwin 1998)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping
from typing import TypeVar

Item = TypeVar("Item", bound=Hashable)


def bcubed(pred: Mapping[Item, Hashable], gold: Mapping[Item, Hashable]) -> tuple[float, float, float]:
    """(precision, recall, F1) over the items both mappings share; item -> cluster label on each side."""
    items = [item for item in gold if item in pred]
    if not items:
        return 0.0, 0.0, 0.0
    pred_size = Counter(pred[i] for i in items)
    gold_size = Counter(gold[i] for i in items)
    both = Counter((pred[i], gold[i]) for i in items)
    # For item i, |pred(i) ∩ gold(i)| is the count of items sharing both of i's labels.
    precision = sum(both[(pred[i], gold[i])] / pred_size[pred[i]] for i in items) / len(items)
    recall = sum(both[(pred[i], gold[i])] / gold_size[gold[i]] for i in items) / len(items)
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return precision, recall, f1
