"""Experiment: jusText or trafilatura's precision mode as a fourth candidate of the page-level chooser.

Reads the cache of `bench/extraction_blocks_collect.py`; the chooser (features and model settings of
bench/extraction_chooser.py) is trained on the same folds (by page, both sets pooled, seed 0) with the three
shipped candidates, with each fourth one and with both. Results, 5-fold mean F1:
- 2026-11-30: no gain from jusText (WCXB dev 0.9356 ± 0.0063 with it, 0.9366 ± 0.0062 without);
- 2026-12-03: none from the precision mode either (WCXB dev 0.9430 ± 0.0050 with it, 0.9422 ± 0.0061
  without; Readability pages 0.9546 ± 0.0289 against 0.9564 ± 0.0297; with both 0.9415 and 0.9522).
So neither is a production candidate.

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
BASE = ("trafilatura_recall", "trafilatura_full", "readability")
SETS = {
    "3": BASE,
    "+justext": (*BASE, "justext"),
    "+precision": (*BASE, "trafilatura_precision"),
    "+both": (*BASE, "trafilatura_precision", "justext"),
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
            found = {n: blocks_from_html(record["html"].get(n, "")) for n in SETS["+both"]}
            scores = {
                n: list(vars(score_page(gold.expected_text, page_text(b, record["title"]))).values())
                for n, b in found.items()
                if b
            }
            features = {}
            for label, names in SETS.items():
                chooser.CANDIDATES = names  # page_features reads the module's candidate list
                features[label] = chooser.page_features(found)
            pages.append({"set": name, "scores": scores, "features": features})
    return pages


def _fit(pages: list[dict[str, Any]], label: str) -> GradientBoostingRegressor:
    x, y = [], []
    for page in pages:
        found = [n for n in SETS[label] if n in page["scores"]]
        if found:
            mean = statistics.mean(_f1(page["scores"][n]) for n in found)
            for n in found:
                x.append(page["features"][label][n])
                y.append(_f1(page["scores"][n]) - mean)
    return GradientBoostingRegressor(**PARAMS).fit(np.array(x), np.array(y))


def _pick(page: dict[str, Any], label: str, model: GradientBoostingRegressor) -> PageScore:
    found = [n for n in SETS[label] if n in page["scores"]]
    if not found:
        return PageScore(0.0, 0.0, 0.0)
    predicted = model.predict(np.array([page["features"][label][n] for n in found]))
    return PageScore(*page["scores"][found[int(np.argmax(predicted))]])


def main() -> None:
    """Cross-validate the chooser with each candidate set and print mean ± sd per set."""
    pages = load()
    folds: dict[str, list[float]] = {}
    for train, test in KFold(n_splits=5, shuffle=True, random_state=0).split(pages):
        for label in SETS:
            model = _fit([pages[i] for i in train], label)
            for name in DEV_SETS:
                held = [pages[i] for i in test if pages[i]["set"] == name]
                f1 = summarise_scores([_pick(p, label, model) for p in held])["f1"]
                folds.setdefault(f"{name} {label}", []).append(f1)
    report = {k: [round(statistics.mean(v), 4), round(statistics.stdev(v), 4)] for k, v in folds.items()}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
