"""Experiment: a block-level selector over the candidate bodies, 5-fold cross-validated on the dev sets.

Reads the candidate bodies cached by `bench/extraction_blocks_collect.py` (run that first, once per set).
Every merged block is labelled by the share of its shingles found in the page's gold text; a gradient-boosted
tree model learns that share from `extraction_blocks_features.block_features`. "selector" keeps the merged
blocks predicted at or above a threshold (chosen by an inner 3-fold split of the training folds, or fixed with
--threshold); "filter" drops from the chooser's pick the blocks predicted below a threshold chosen on the
training folds; "block_oracle" keeps the blocks whose label is at least 0.5.
Figures are F1 on held-out folds (folds by page, both dev sets pooled, seed 0: the same folds as
bench/extraction_chooser.py), mean ± sd, beside plain trafilatura 2.3.1 and the page-level chooser trained on
the same folds. Result (2026-11-30): every block variant scored below the chooser, so none is in production.
Tune on the dev sets only: never point this at held-out data.

    nice -n 10 python bench/extraction_blocks_collect.py extraction-wcxb-dev
    nice -n 10 python bench/extraction_blocks_collect.py extraction-dev
    nice -n 10 python bench/extraction_blocks.py
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import statistics
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.model_selection import KFold

from extraction_blocks_collect import DEV_SETS, VERSION
from extraction_blocks_features import VOTERS, block_features, merge_blocks
from extraction_chooser import PARAMS as CHOOSER_PARAMS
from extraction_chooser import export
from tidings.eval.extraction import PageScore, iter_gold_pages, score_page, summarise_scores
from tidings.extract.blocks import Block, blocks_from_html, render_text
from tidings.extract.chooser import CANDIDATES, page_features, predict
from tidings.extract.cleanup import clean_blocks, drop_title_heading
from tidings.extract.shingles import count_shingles

PARAMS = {
    "n_estimators": 200,
    "max_depth": 3,
    "learning_rate": 0.1,
    "subsample": 0.8,
    "min_samples_leaf": 20,
    "random_state": 0,
}
PAGES_VERSION = "1"  # bump when _page changes
THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)


def page_text(blocks: list[Block], title: str | None) -> str:
    """The body text `extract_html` makes of these blocks (cleanup and title heading drop included)."""
    return render_text(drop_title_heading(clean_blocks(blocks, title).blocks, title))


def _page(record: dict[str, Any], expected: str) -> dict[str, Any]:
    title = record["title"]
    candidates = {name: blocks_from_html(markup) for name, markup in record["html"].items()}
    merged = merge_blocks(candidates)
    gold = set(count_shingles(expected))
    labels, weights = [], []
    for block in merged:
        own = set(count_shingles(block.text))
        labels.append(len(own & gold) / len(own) if own else 0.0)
        weights.append(float(len(own)))
    total = sum(weights) or 1.0
    chooser_rows = page_features(candidates)
    chooser = {}
    for name in CANDIDATES:
        if candidates.get(name):
            text = page_text(candidates[name], title)
            score = list(vars(score_page(expected, text)).values())
            chooser[name] = {"score": score, "text": text, "features": chooser_rows[name]}
    return {
        "title": title,
        "expected": expected,
        "blocks": merged,
        "X": block_features(merged, candidates, title) if merged else [],
        "y": labels,
        "w": [w / total for w in weights],
        "chooser": chooser,
        "fallback": next((chooser[n]["text"] for n in CANDIDATES if n in chooser), ""),
        "baseline": record["baseline"],
    }


def load(cache: Path) -> list[dict[str, Any]]:
    """Every dev page with its merged blocks, features and labels (same order as extraction_chooser)."""
    source = (Path(__file__).parent / "extraction_blocks_features.py").read_bytes() + PAGES_VERSION.encode()
    stored = cache / f"pages-{hashlib.sha256(source).hexdigest()[:16]}.pickle"
    if stored.exists():
        loaded: list[dict[str, Any]] = pickle.loads(stored.read_bytes())
        return loaded
    pages = []
    for name, directory in DEV_SETS.items():
        for gold in iter_gold_pages(directory):
            key = hashlib.sha256(gold.html + VERSION.encode()).hexdigest()[:20]
            record = json.loads((cache / f"{name}-{gold.page_id}-{key}.json").read_text())
            pages.append({"set": name, "id": gold.page_id, **_page(record, gold.expected_text)})
    stored.write_bytes(pickle.dumps(pages))
    return pages


def attach_candidates(pages: list[dict[str, Any]], cache: Path) -> None:
    """Add each page's page-level candidate blocks (for the filter mode) from the cache."""
    at = 0
    for name, directory in DEV_SETS.items():
        for gold in iter_gold_pages(directory):
            key = hashlib.sha256(gold.html + VERSION.encode()).hexdigest()[:20]
            record = json.loads((cache / f"{name}-{gold.page_id}-{key}.json").read_text())
            pages[at]["candidates"] = {n: blocks_from_html(record["html"].get(n, "")) for n in CANDIDATES}
            at += 1


FILTER_THRESHOLDS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)


def _filtered(page: dict[str, Any], pred: list[float], threshold: float) -> str:
    """The chooser's candidate with the blocks the model scores below the threshold dropped."""
    by_text = {b.text: v for b, v in zip(page["blocks"], pred, strict=True)}
    name = page.get("chosen")
    if not name:
        return page["fallback"]
    kept = [b for b in page["candidates"][name] if by_text.get(b.text, 1.0) >= threshold]
    return page_text(kept, page["title"]) if kept else page["fallback"]


def fit(pages: list[dict[str, Any]]) -> GradientBoostingRegressor:
    """A block model fitted on these pages."""
    x = np.array([row for p in pages for row in p["X"]])
    y = np.array([v for p in pages for v in p["y"]])
    w = np.array([v for p in pages for v in p["w"]])
    return GradientBoostingRegressor(**PARAMS).fit(x, y, sample_weight=w)


def score(pages: list[dict[str, Any]], texts: list[str]) -> float:
    """F1 of these texts against the pages' gold."""
    return summarise_scores([score_page(p["expected"], t) for p, t in zip(pages, texts, strict=True)])["f1"]


def _predictions(pages: list[dict[str, Any]], model: GradientBoostingRegressor) -> list[list[float]]:
    rows = [row for p in pages for row in p["X"]]
    flat = model.predict(np.array(rows)).tolist() if rows else []
    out, at = [], 0
    for page in pages:
        out.append(flat[at : at + len(page["X"])])
        at += len(page["X"])
    return out


def _texts(pages: list[dict[str, Any]], preds: list[list[float]], threshold: float) -> list[str]:
    """Each page's text from the kept blocks; the fallback candidate's when none is kept (as production)."""
    out = []
    for page, pred in zip(pages, preds, strict=True):
        kept = [b for b, v in zip(page["blocks"], pred, strict=True) if v >= threshold]
        out.append(page_text(kept, page["title"]) if kept else page["fallback"])
    return out


def choose_threshold(pages: list[dict[str, Any]], seed: int) -> float:
    """The threshold with the best inner 3-fold F1 on these (training) pages."""
    preds: list[list[float]] = [[] for _ in pages]
    for train, test in KFold(n_splits=3, shuffle=True, random_state=seed).split(pages):
        model = fit([pages[i] for i in train])
        for i, pred in zip(test, _predictions([pages[i] for i in test], model), strict=True):
            preds[i] = pred
    return max(THRESHOLDS, key=lambda t: score(pages, _texts(pages, preds, t)))


def _chooser_model(pages: list[dict[str, Any]]) -> dict[str, Any]:
    x, y = [], []
    for page in pages:
        found = page["chooser"]
        if not found:
            continue
        f1s = {n: _f1(c["score"]) for n, c in found.items()}
        mean = statistics.mean(f1s.values())
        for name, candidate in found.items():
            x.append(candidate["features"])
            y.append(f1s[name] - mean)
    return export(GradientBoostingRegressor(**CHOOSER_PARAMS).fit(np.array(x), np.array(y)))


def _f1(s: list[float]) -> float:
    tp, fp, fn = s
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _chosen(page: dict[str, Any], model: dict[str, Any]) -> PageScore:
    found = page["chooser"]
    if not found:
        return PageScore(0.0, 0.0, 0.0)
    best = max(found, key=lambda name: predict(model, found[name]["features"]))
    return PageScore(*found[best]["score"])


def _pick(page: dict[str, Any], chooser: dict[str, Any]) -> None:
    if page["chooser"]:
        best = max(page["chooser"].items(), key=lambda kv: predict(chooser, kv[1]["features"]))
        page["chosen"], page["fallback"] = best[0], best[1]["text"]


def cross_validate(
    pages: list[dict[str, Any]], folds: int, seed: int, fixed: float | None = None
) -> dict[str, Any]:
    """Per dev set, held-out-fold F1 of each method, mean ± sd over the folds."""
    per_fold: dict[str, dict[str, list[float]]] = {name: {} for name in DEV_SETS}
    thresholds = []
    for train_idx, test_idx in KFold(n_splits=folds, shuffle=True, random_state=seed).split(pages):
        train = [pages[i] for i in train_idx]
        model = fit(train)
        threshold = fixed if fixed is not None else choose_threshold(train, seed)
        chooser = _chooser_model(train)
        for page in train:
            _pick(page, chooser)
        train_preds = _predictions(train, model)
        drop = max(
            FILTER_THRESHOLDS,
            key=lambda t: score(train, [_filtered(p, v, t) for p, v in zip(train, train_preds, strict=True)]),
        )
        thresholds.append([threshold, drop])
        for name in DEV_SETS:
            held = [pages[i] for i in test_idx if pages[i]["set"] == name]
            for page in held:  # production falls back on the chooser's pick
                _pick(page, chooser)
            preds = _predictions(held, model)
            oracle = [
                page_text([b for b, v in zip(p["blocks"], p["y"], strict=True) if v >= 0.5], p["title"])
                for p in held
            ]
            methods = {
                "selector": score(held, _texts(held, preds, threshold)),
                "filter": score(held, [_filtered(p, v, drop) for p, v in zip(held, preds, strict=True)]),
                **{
                    f"filter_{t}": score(held, [_filtered(p, v, t) for p, v in zip(held, preds, strict=True)])
                    for t in FILTER_THRESHOLDS
                },
                "chooser": summarise_scores([_chosen(p, chooser) for p in held])["f1"],
                "trafilatura": summarise_scores([PageScore(*p["baseline"]) for p in held])["f1"],
                "block_oracle": score(held, oracle),
            }
            for method, f1 in methods.items():
                per_fold[name].setdefault(method, []).append(f1)
    return {
        "thresholds": thresholds,
        **{
            name: {
                "pages": sum(p["set"] == name for p in pages),
                **{m: [round(statistics.mean(v), 4), round(statistics.stdev(v), 4)] for m, v in ms.items()},
            }
            for name, ms in per_fold.items()
        },
    }


def main() -> None:
    """Load the cache, cross-validate and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "tidings-blocks-cache")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threshold", type=float, help="a fixed threshold (quick runs; not for reports)")
    args = parser.parse_args()
    pages = load(args.cache)
    attach_candidates(pages, args.cache)
    report = {"folds": args.folds, "seed": args.seed, "voters": list(VOTERS)}
    report["sets"] = cross_validate(pages, args.folds, args.seed, args.threshold)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
