"""Train the extraction chooser on the development sets with k-fold cross-validation, beside trafilatura.

Each dev page is extracted once through the product's own code (`read_page`, `candidate_bodies`, `assemble`)
and once with plain `trafilatura.extract` (2.3.1, defaults), and the scores are cached per page in a temporary
folder. Then a gradient-boosted tree model learns each candidate's page F1 from `chooser.page_features`; the
figures are cross-validated (folds by page, both dev sets pooled) and reported as mean ± sd over the folds,
with plain trafilatura and the former hand rule on the same folds. `--transfer` also scores each dev set
with a model fitted on the other set only. `--write` refits on all dev pages, writes
src/tidings/extract/chooser_model.json. Tune on the dev sets only: never point this at held-out data.

    nice -n 10 python bench/extraction_chooser.py --write
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import trafilatura
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.model_selection import KFold

from tidings.eval.extraction import PageScore, iter_gold_pages, score_page, summarise_scores
from tidings.extract import body
from tidings.extract.article import assemble, read_page
from tidings.extract.blocks import blocks_from_html
from tidings.extract.chooser import CANDIDATES, FEATURES, MODEL_PATH, page_features, predict
from tidings.models import ExtractedArticle

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DEV_SETS = {
    "extraction-wcxb-dev": SHARED / "extraction-wcxb-dev",
    "extraction-dev": SHARED / "extraction-dev",
}
CACHE_VERSION = "2"  # bump when candidate extraction or features change
PARAMS = {
    "n_estimators": 120,
    "max_depth": 3,
    "learning_rate": 0.05,
    "subsample": 0.8,
    "min_samples_leaf": 20,
    "random_state": 0,
}


def _page_record(html: bytes, url: str | None, expected: str) -> dict[str, Any]:
    """Scores and features of every candidate of one page, and plain trafilatura's score."""
    baseline = score_page(expected, trafilatura.extract(html) or "")
    record: dict[str, Any] = {"baseline": list(vars(baseline).values()), "candidates": {}}
    page = read_page(html, url)
    if isinstance(page, ExtractedArticle):
        return record
    for name, markup in body.candidate_html(page.tree, url, page.chars).items():
        blocks = blocks_from_html(markup)
        if blocks:
            score = score_page(expected, assemble(page, blocks).text)
            record["candidates"][name] = {"score": list(vars(score).values()), "html": markup}
    return record


def collect(name: str, directory: Path, cache: Path, backwards: bool = False) -> list[dict[str, Any]]:
    """Records of every page of a dev set, from the cache when the page was seen before."""
    records = []
    pages = list(iter_gold_pages(directory))
    for page in reversed(pages) if backwards else pages:
        key = hashlib.sha256(page.html + CACHE_VERSION.encode()).hexdigest()[:20]
        path = cache / f"{name}-{page.page_id}-{key}.json"
        if path.exists():
            record = json.loads(path.read_text())
        else:
            url = page.metadata.get("url")
            record = _page_record(page.html, url if isinstance(url, str) else None, page.expected_text)
        # candidates the product no longer makes are left out
        record["candidates"] = {n: c for n, c in record["candidates"].items() if n in CANDIDATES}
        if record.get("feature_names") != list(FEATURES):  # features are kept until they change
            record = _with_features(record)
            path.write_text(json.dumps(record))
        records.append({"set": name, "id": page.page_id, **record})
    return records


def _with_features(record: dict[str, Any]) -> dict[str, Any]:
    """Add the chooser's features to a record (from the candidates' HTML, kept for when features change)."""
    found = record["candidates"]
    rows = page_features(
        {name: blocks_from_html(found[name]["html"]) if name in found else [] for name in CANDIDATES}
    )
    for name, candidate in found.items():
        candidate["features"] = rows[name]
    record["feature_names"] = list(FEATURES)
    return record


def _f1(score: list[float]) -> float:
    tp, fp, fn = score
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _rows(records: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Features and targets (page F1 minus the page's mean candidate F1: only the ranking matters)."""
    features, targets = [], []
    for record in records:
        found = record["candidates"]
        if not found:
            continue
        mean = statistics.mean(_f1(c["score"]) for c in found.values())
        for candidate in found.values():
            features.append(candidate["features"])
            targets.append(_f1(candidate["score"]) - mean)
    return np.array(features), np.array(targets)


def export(model: GradientBoostingRegressor) -> dict[str, Any]:
    """The fitted model as plain JSON: the initial value, the learning rate and every tree's arrays."""
    trees = []
    for estimator in model.estimators_[:, 0]:
        tree = estimator.tree_
        trees.append(
            {
                "left": tree.children_left.tolist(),
                "right": tree.children_right.tolist(),
                "feature": tree.feature.tolist(),
                "threshold": [round(float(t), 6) for t in tree.threshold],
                "value": [round(float(v), 6) for v in tree.value[:, 0, 0]],
            }
        )
    init = float(model.init_.constant_[0][0])
    return {"features": list(FEATURES), "init": init, "learning_rate": model.learning_rate, "trees": trees}


def _chosen(record: dict[str, Any], model: dict[str, Any] | None) -> list[float]:
    found = record["candidates"]
    if not found:
        return [0.0, 0.0, 0.0]
    if model is None:  # the hand rule, recorded as a feature
        rule = next((n for n, c in found.items() if c["features"][-1] == 1.0), next(iter(found)))
        return list(found[rule]["score"])
    best = max(found, key=lambda name: predict(model, found[name]["features"]))
    return list(found[best]["score"])


def _summary(scores: list[list[float]]) -> float:
    return summarise_scores([PageScore(*s) for s in scores])["f1"]


def _methods(records: list[dict[str, Any]], model: dict[str, Any]) -> dict[str, float]:
    return {
        "trafilatura": _summary([r["baseline"] for r in records]),
        "hand_rule": _summary([_chosen(r, None) for r in records]),
        "chooser": _summary([_chosen(r, model) for r in records]),
    }


def cross_validate(records: list[dict[str, Any]], folds: int, seed: int) -> dict[str, Any]:
    """Per dev set: F1 of each method on every held-out fold, as mean ± sd over the folds."""
    per_fold: dict[str, dict[str, list[float]]] = {name: {} for name in DEV_SETS}
    splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(records):
        fitted = GradientBoostingRegressor(**PARAMS).fit(*_rows([records[i] for i in train]))
        model = export(fitted)
        for name in DEV_SETS:
            held = [records[i] for i in test if records[i]["set"] == name]
            for method, f1 in _methods(held, model).items():
                per_fold[name].setdefault(method, []).append(f1)
    return {
        name: {
            "pages": sum(r["set"] == name for r in records),
            **{m: [round(statistics.mean(v), 4), round(statistics.stdev(v), 4)] for m, v in methods.items()},
        }
        for name, methods in per_fold.items()
    }


def transfer(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Each dev set scored by a model fitted on the other sets only: how the chooser carries to pages of
    another kind, as the held-out sets are."""
    out: dict[str, Any] = {}
    for name in DEV_SETS:
        train = [r for r in records if r["set"] != name]
        test = [r for r in records if r["set"] == name]
        model = export(GradientBoostingRegressor(**PARAMS).fit(*_rows(train)))
        scored = {m: round(f1, 4) for m, f1 in _methods(test, model).items()}
        out[name] = {"pages": len(test), "fitted_on_pages": len(train), **scored}
    return out


def main() -> None:
    """Collect (cached), cross-validate, print JSON, and with --write refit on all dev pages and save."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "tidings-extraction-cache"
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--write", action="store_true", help=f"refit on all dev pages and write {MODEL_PATH.name}"
    )
    parser.add_argument(
        "--transfer", action="store_true", help="also score each set with a model fitted on the others only"
    )
    parser.add_argument("--collect-only", choices=sorted(DEV_SETS), help="only fill the cache for one set")
    parser.add_argument("--backwards", action="store_true", help="with --collect-only: last page first")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    if args.collect_only:
        collect(args.collect_only, DEV_SETS[args.collect_only], args.cache, args.backwards)
        return
    records = [r for name, path in DEV_SETS.items() for r in collect(name, path, args.cache)]
    report: dict[str, Any] = {
        "folds": args.folds,
        "seed": args.seed,
        "sets": cross_validate(records, args.folds, args.seed),
    }
    if args.transfer:
        report["transfer"] = transfer(records)
    print(json.dumps(report, indent=1))
    if args.write:
        model = export(GradientBoostingRegressor(**PARAMS).fit(*_rows(records)))
        model["cv"] = report
        MODEL_PATH.write_text(json.dumps(model, separators=(",", ":")) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
