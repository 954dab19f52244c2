"""Story clustering in one dense store: the stories dev sets ingested together, each weight set clustering all
of it once, scored by 5-fold CV over gold events.

`tidings eval stories` clusters each fold on its own, and its GVA figures come from a 1,483-article sample, so
a fold holds about 300 articles. A real store is denser: all of GVA is 5,873 articles about 3,483 shootings,
and there one story can swallow hundreds of shootings, because the centroid of a story holding many similar
events is close to every report of that kind. This bench ingests ECB+ odd topics and then all of GVA into one
store through `tidings ingest`, clusters every article again through `pipeline/story_placement.py`
(`recluster`) with each candidate weight set (in ingest order, rolled back), and chooses weights by 5-fold CV:
folds split the gold events and only pick which articles are scored, so every fold is scored in the whole
dense store. The labels of the held-out fold are never used to choose. All-singletons is printed beside each
set.

Prints one JSON document: per weight set, per-set fold F1 (mean ± sd), the whole-set B-cubed and the largest
story; then the CV choice per fold and its held-out F1 per set.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from tidings.config import Settings
from tidings.eval.story_gold import (
    as_placed,
    cross_validate,
    event_folds,
    fold_scores,
    ingest_labelled,
    read_labelled,
    recluster,
    scores,
    signatures,
    spread,
)
from tidings.stories.scoring import Weights

DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "stories-dev"
SETS = ("ecbplus-odd-topics.jsonl", "gva-shootings.jsonl")


def grid() -> list[Weights]:
    """The crowding bar, from off to 0.2, at the shipped bias and one step either side."""
    return [
        Weights(crowd=crowd, bias=bias)
        for crowd in (0.0, 0.05, 0.1, 0.15, 0.2)
        for bias in (0.70, 0.76, 0.84)
    ]


def main() -> None:
    """Ingest both sets into one store, score the grid and cross-validate the choice."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dev", type=Path, default=DEV)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "tidings-eval")
    args = parser.parse_args()
    rows = [read_labelled(args.dev / name) for name in SETS]
    ingested = ingest_labelled([r for part in rows for r in part], Settings(), args.cache, "dense dev store")
    sigs = signatures(ingested)
    golds = [{ingested.id_of[r["url"]]: str(r["event"]) for r in part} for part in rows]
    splits = [event_folds(g, 5) for g in golds]
    own_sigs = [[sig for sig in sigs if sig.article_id in g] for g in golds]
    candidates = grid()
    table: dict[int, list[list[float]]] = {}
    report: dict[str, Any] = {"articles": len(sigs), "sets": list(SETS), "weights": []}
    for i, weights in enumerate(candidates):
        placed = recluster(ingested, sigs, weights)
        table[i] = [
            fold_scores(*part, as_placed(placed)) for part in zip(own_sigs, golds, splits, strict=True)
        ]
        sizes = Counter(placed[a] for a in golds[1])
        report["weights"].append(
            {
                "crowd": weights.crowd,
                "bias": weights.bias,
                "folds": [spread(per) for per in table[i]],
                "whole": [scores({a: placed[a] for a in g}, g) for g in golds],
                "largest_story": max(sizes.values()),
            }
        )
        print(json.dumps(report["weights"][-1]), flush=True)
    cv = cross_validate(table)
    report["singletons"] = [scores({a: a for a in g}, g) for g in golds]
    report["cv"] = [
        {
            "fold": c["fold"],
            "crowd": candidates[c["chosen"]].crowd,
            "bias": candidates[c["chosen"]].bias,
            "test_f1": c["test_f1"],
        }
        for c in cv
    ]
    report["cv_per_set"] = [spread([c["test_f1"][k] for c in cv]) for k in range(len(SETS))]
    best = max(table, key=lambda i: statistics.fmean(f for per in table[i] for f in per))
    report["chosen_on_all"] = {"crowd": candidates[best].crowd, "bias": candidates[best].bias}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
