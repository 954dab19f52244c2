"""Cross-document entity aliases over the demo corpus (and the entity-chip gold set's feeds): how many short
names, chips and keys merge, and the gold set's chip precision and recall with and without aliases.

Usage: nice -n 10 .venv/bin/python bench/entity_aliases.py [--shared PATH]
Each article is resolved against the full names the other articles name, as the store holds them once all
are stored and `tidings enrich --pending` has re-resolved (the same pure rules as `pipeline.aliases`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from tidings.config import Settings
from tidings.enrich import aliases, entities
from tidings.ingest.documents import read_document
from tidings.models import Entity
from tidings.pipeline.prepare import prepare_item

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEMO = [
    "data/demo-corpus/wikinews-2005-04-05/articles.jsonl",
    "data/demo-corpus/globalvoices-2012-05/articles.jsonl",
]


def extract(shared: Path, files: list[str]) -> dict[str, tuple[str, list[Entity]]]:
    """URL -> (file, entities) for every article of the files."""
    prepared = [(f, prepare_item(raw).article) for f in files for raw in read_document(shared / f).items]
    texts = [entities.ner_text(a.title, a.standfirst, a.text) for _, a in prepared]
    found = entities.extract_entities_batch(texts, Settings())
    return {str(a.url): (f, ents) for (f, a), ents in zip(prepared, found, strict=True)}


def known_index(found: dict[str, tuple[str, list[Entity]]]) -> list[aliases.KnownName]:
    """The store's view: every entity key with the number of articles that name it."""
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for _, ents in found.values():
        for e in {e.key: e for e in ents}.values():
            counts[(e.key, e.name, e.type)] += 1
    return [aliases.KnownName(k, n, t, c) for (k, n, t), c in counts.items()]


def main() -> None:
    """Print the merge counts and gold figures as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    from tests.enrich.entity_gold import load_gold, score

    gold = load_gold()
    files = sorted(set(DEMO) | {str(r["file"]) for r in gold})
    found = extract(args.shared, files)
    known = known_index(found)
    resolved = {url: aliases.resolve_aliases(ents, known) for url, (_, ents) in found.items()}
    demo = [url for url, (f, _) in found.items() if f in DEMO]
    keys_before = {e.key for u in demo for e in found[u][1]}
    keys_after = {e.key for u in demo for e in resolved[u][0]}
    chips_before = {(u, e.key) for u in demo for e in found[u][1] if e.salient}
    chips_after = {(u, e.key) for u in demo for e in resolved[u][0] if e.salient}
    renames = [(old, new) for u in demo for old, new in resolved[u][1].items()]
    gold_urls = {str(r["url"]) for r in gold}
    before = score(gold, {u: [e.name for e in found[u][1] if e.salient] for u in gold_urls})
    after = score(gold, {u: [e.name for e in resolved[u][0] if e.salient] for u in gold_urls})
    report = {
        "demo_articles": len(demo),
        "articles_with_an_alias_resolved": sum(bool(resolved[u][1]) for u in demo),
        "names_resolved": len(renames),
        "distinct_keys": [len(keys_before), len(keys_after)],
        "chips_changed": len(chips_before - chips_after),
        "chip_count": [len(chips_before), len(chips_after)],
        "examples": sorted({f"{a} -> {b}" for a, b in renames})[:40],
        "by_article": [f"{u}: {a} -> {b}" for u in demo for a, b in resolved[u][1].items()],
        "gold": {
            "articles": len(gold),
            "without_aliases": {"precision": round(before.precision, 3), "recall": round(before.recall, 3)},
            "with_aliases": {"precision": round(after.precision, 3), "recall": round(after.recall, 3)},
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
