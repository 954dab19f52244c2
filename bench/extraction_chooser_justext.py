"""Experiment: jusText as a fourth candidate of the page-level chooser, 5-fold cross-validated on dev.

Reads the cache of `bench/extraction_blocks_collect.py`; the chooser (features and model settings of
bench/extraction_chooser.py) is trained on the same folds (by page, both sets pooled, seed 0) with three and
with four candidates. Result (2026-11-30): no gain (WCXB dev 0.9356 ± 0.0063 with jusText, 0.9366 ± 0.0062
without), so jusText is not a production candidate.

    nice -n 10 python bench/extraction_chooser_justext.py
"""

from __future__ import annotations

import hashlib
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.model_selection import KFold

from extraction_blocks import page_text
from extraction_blocks_collect import DEV_SETS, VERSION
from extraction_chooser import PARAMS
from tidings.eval.extraction import PageScore, iter_gold_pages, score_page, summarise_scores
from tidings.extract import chooser
from tidings.extract.blocks import blocks_from_html

CACHE = Path(tempfile.gettempdir()) / "tidings-blocks-cache"
SETS = {
    3: ("trafilatura_recall", "trafilatura_full", "readability"),
    4: ("trafilatura_recall", "trafilatura_full", "readability", "justext"),
}


def _f1(s: list[float]) -> float:
    tp, fp, fn = s
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def load() -> list[dict[str, Any]]:
    """Each page's candidate scores and chooser features, with three and with four candidates."""
    pages = []
    for name, directory in DEV_SETS.items():
        for gold in iter_gold_pages(directory):
            key = hashlib.sha256(gold.html + VERSION.encode()).hexdigest()[:20]
            record = json.loads((CACHE / f"{name}-{gold.page_id}-{key}.json").read_text())
            found = {n: blocks_from_html(record["html"].get(n, "")) for n in SETS[4]}
            scores = {
                n: list(vars(score_page(gold.expected_text, page_text(b, record["title"]))).values())
                for n, b in found.items()
                if b
            }
            features = {}
            for size, names in SETS.items():
                chooser.CANDIDATES = names  # page_features reads the module's candidate list
                features[size] = chooser.page_features(found)
            pages.append({"set": name, "scores": scores, "features": features})
    return pages


def _fit(pages: list[dict[str, Any]], size: int) -> GradientBoostingRegressor:
    x, y = [], []
    for page in pages:
        found = [n for n in SETS[size] if n in page["scores"]]
        if found:
            mean = statistics.mean(_f1(page["scores"][n]) for n in found)
            for n in found:
                x.append(page["features"][size][n])
                y.append(_f1(page["scores"][n]) - mean)
    return GradientBoostingRegressor(**PARAMS).fit(np.array(x), np.array(y))


def _pick(page: dict[str, Any], size: int, model: GradientBoostingRegressor) -> PageScore:
    found = [n for n in SETS[size] if n in page["scores"]]
    if not found:
        return PageScore(0.0, 0.0, 0.0)
    predicted = model.predict(np.array([page["features"][size][n] for n in found]))
    return PageScore(*page["scores"][found[int(np.argmax(predicted))]])


def main() -> None:
    """Cross-validate the chooser with three and four candidates and print mean ± sd per set."""
    pages = load()
    folds: dict[str, list[float]] = {}
    for train, test in KFold(n_splits=5, shuffle=True, random_state=0).split(pages):
        for size in SETS:
            model = _fit([pages[i] for i in train], size)
            for name in DEV_SETS:
                held = [pages[i] for i in test if pages[i]["set"] == name]
                f1 = summarise_scores([_pick(p, size, model) for p in held])["f1"]
                folds.setdefault(f"{name} {size} candidates", []).append(f1)
    report = {k: [round(statistics.mean(v), 4), round(statistics.stdev(v), 4)] for k, v in folds.items()}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
