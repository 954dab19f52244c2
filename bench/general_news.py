"""Story grouping on general news: pair decisions, dated and undated, beside cosine; B-cubed of clustering.

The stories dev sets are near misses of one kind (ECB+) and shootings (GVA); the owners' held-out pairs are
general news in the pairs format, which carries no dates. This scores two labelled general-news sets written
here (regression fixtures, never tuned on) as they are and with every date removed, through `tidings ingest`
and the production pair scorer, as `tidings eval pairs` does:

- the same-day feed set (`tests/data/stories/gold-same-day.json` over `../shared/data/feeds-2019-2023`);
- the hand-labelled demo-corpus groups (`tests/data/stories/demo-corpus-events.json`: same-event groups and
  distractors from the same countries and themes, over `../shared/data/demo-corpus`).

Prints one JSON document: per set, the pair figures of each view (P/R/F1/AUC, and cosine's F1 at its best
threshold there), and the B-cubed of the stored articles clustered by `pipeline/story_placement.py` in ingest
order and in reverse, with the shipped weights and with member linkage (off by default), beside singletons.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from tidings.config import Settings
from tidings.eval.pairs import best_threshold, corpus_idf, labelled_rows_pairs, summarise
from tidings.eval.story_gold import gold_feed_rows, ingest_labelled, recluster, scores, signatures
from tidings.stories.scoring import Weights, pair_match

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "tests" / "data" / "stories"
SHARED = ROOT.parent / "shared" / "data"
DEMO_SETS = ("wikinews-2005-04-05", "globalvoices-2012-05")


def demo_rows(shared: Path) -> list[dict[str, Any]]:
    """The labelled demo-corpus articles as event-labelled rows (a distractor is its own event)."""
    labels = json.loads((LABELS / "demo-corpus-events.json").read_text(encoding="utf-8"))
    event: dict[str, str] = {}
    for part in ("dev", "checks"):
        for name, ids in labels[part]["groups"].items():
            event.update(dict.fromkeys(ids, name))
        event.update({i: i for i in labels[part]["distractors"]})
    rows = []
    for folder in DEMO_SETS:
        text = (shared / "demo-corpus" / folder / "articles.jsonl").read_text(encoding="utf-8")
        for line in text.split("\n"):
            if line.strip() and (row := json.loads(line))["id"] in event:
                keep = ("url", "title", "text", "published", "source")
                rows.append({k: row[k] for k in keep if k in row} | {"event": event[row["id"]]})
    return rows


def score(rows: list[dict[str, Any]], name: str, settings: Settings, cache: Path) -> dict[str, Any]:
    """The shipped pair decisions on a labelled set's pairs, beside cosine at its best threshold."""
    data = labelled_rows_pairs(rows, name, settings, cache)
    idf = corpus_idf(data.sigs)
    labels = [same for _, _, same, _ in data.pairs]
    matches = [pair_match(data.sigs[i], data.sigs[j], idf) for i, j, _, _ in data.pairs]
    out = summarise(labels, [m.probability for m in matches], [m.is_match for m in matches])
    cos = np.array([m.cosine for m in matches])
    out["positives"] = sum(labels)
    out["cosine_best_f1"] = round(best_threshold(labels, list(cos))[1], 4)
    return out


def clustering(rows: list[dict[str, Any]], name: str, settings: Settings, cache: Path) -> dict[str, Any]:
    """B-cubed of the shipped clustering and of member linkage, in ingest order and reversed."""
    ingested = ingest_labelled(rows, settings, cache, name)
    sigs = signatures(ingested)
    out: dict[str, Any] = {"singletons": scores({a: a for a in ingested.gold}, ingested.gold)}
    for label, weights in (("shipped", Weights()), ("member linkage 0.5", replace(Weights(), linkage=0.5))):
        out[label] = scores(recluster(ingested, sigs, weights), ingested.gold)
        out[f"{label}, reversed"] = scores(recluster(ingested, sigs[::-1], weights), ingested.gold)
    return out


def main() -> None:
    """Score both sets, dated and undated."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "tidings-eval")
    args = parser.parse_args()
    settings = Settings()
    sets = {
        "same-day feeds": gold_feed_rows(args.shared / "feeds-2019-2023", LABELS / "gold-same-day.json"),
        "demo-corpus groups": demo_rows(args.shared),
    }
    report = {}
    for name, rows in sets.items():
        report[f"{name}, dated"] = score(rows, name, settings, args.cache)
        undated = [{k: v for k, v in row.items() if k != "published"} for row in rows]
        report[f"{name}, undated"] = score(undated, name, settings, args.cache)
        report[f"{name}, stories"] = clustering(rows, name, settings, args.cache)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
