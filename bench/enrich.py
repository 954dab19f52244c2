"""Benchmark enrichment over the BBC News articles: articles/s, per-stage costs and peak RSS, as JSON.

Usage: .venv/bin/python bench/enrich.py [--limit N] [--data PATH]
The stage timings run each stage alone over the same articles, after the end-to-end run, in one process.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from tidings.config import Settings
from tidings.enrich import enrich_batch, keypoints, language, load_count
from tidings.enrich import entities as ner
from tidings.enrich.embeddings import compose_article_text, embed_texts
from tidings.enrich.topics import classify_topics
from tidings.models import EnrichInput

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "bbc-news"


def read_articles(folder: Path, limit: int | None) -> list[EnrichInput]:
    """BBC files as enrichment inputs (title on the first line)."""
    items = []
    for path in sorted(folder.glob("*/*.txt")):
        title, _, body = path.read_text(encoding="utf-8", errors="replace").partition("\n")
        items.append(EnrichInput(title=title.strip(), text=body.strip(), tags=[path.parent.name]))
    return items[:limit] if limit else items


def timed(label: str, costs: dict[str, float], func: Any, *args: Any) -> Any:
    """Run func(*args), recording its wall time under label."""
    start = time.perf_counter()
    result = func(*args)
    costs[label] = round(time.perf_counter() - start, 2)
    return result


def measure_stages(items: list[EnrichInput], settings: Settings) -> dict[str, float]:
    """Seconds each stage takes alone over all items (single-stage runs, no overlap)."""
    costs: dict[str, float] = {}
    timed("language", costs, lambda: [language.detect_language(i.title + "\n" + i.text) for i in items])
    cands = timed(
        "sentence_split",
        costs,
        lambda: [keypoints.candidate_sentences(i.text, i.language or "en") for i in items],
    )
    texts = [ner.ner_text(i.title, i.standfirst, i.text) for i in items]
    timed("ner", costs, ner.extract_entities_batch, texts, settings)
    docs = [compose_article_text(i.title, i.text, i.standfirst) for i in items]
    vectors = timed("embed_articles", costs, embed_texts, docs, settings)
    timed("embed_sentences", costs, embed_texts, [s for c in cands for s in c], settings)
    timed("topics", costs, classify_topics, vectors, settings)
    return costs


def run(limit: int | None, data: Path, batch_size: int) -> dict[str, Any]:
    """Warm the models, enrich everything in batches, then time each stage alone."""
    settings = Settings()
    items = read_articles(data, limit)
    start = time.perf_counter()
    enrich_batch(items[:2], settings)  # loads every model once
    load_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for offset in range(0, len(items), batch_size):
        enrich_batch(items[offset : offset + batch_size], settings)
    elapsed = time.perf_counter() - start
    stages = measure_stages(items, settings)
    return {
        "articles": len(items),
        "batch_size": batch_size,
        "model_load_seconds": round(load_seconds, 2),
        "enrich_seconds": round(elapsed, 2),
        "articles_per_second": round(len(items) / elapsed, 1),
        "stage_seconds_alone": stages,
        "stage_ms_per_article": {k: round(1000 * v / len(items), 2) for k, v in stages.items()},
        "model_loads": load_count(),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the benchmark and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--batch-size", type=int, default=Settings().batch_size)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.limit, args.data, args.batch_size), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
