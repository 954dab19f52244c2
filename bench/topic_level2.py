"""IPTC second-level coverage on the demo corpus: the share of articles that get a confident second level,
and which ones, with the classifiers and threshold enrichment uses.

Usage: nice -n 10 .venv/bin/python bench/topic_level2.py [--shared PATH]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from tidings.config import Settings
from tidings.enrich import language, topics
from tidings.enrich.embeddings import compose_article_text, embed_texts
from tidings.ingest.documents import read_document
from tidings.pipeline.prepare import prepare_item

ROOT = Path(__file__).resolve().parents[1]
DEMO = [
    "data/demo-corpus/wikinews-2005-04-05/articles.jsonl",
    "data/demo-corpus/globalvoices-2012-05/articles.jsonl",
]


def main() -> None:
    """Print coverage and the second levels chosen, as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    settings = Settings()
    articles = [prepare_item(raw).article for f in DEMO for raw in read_document(args.shared / f).items]
    english = [
        a
        for a in articles
        if language.is_english(language.detect_language(f"{a.title}\n{a.text}", a.language))
    ]
    vectors = embed_texts([compose_article_text(a.title, a.text, a.standfirst) for a in english], settings)
    ranked = topics.classify_topics(vectors, settings)
    level2 = topics.classify_level2(vectors, settings)
    chosen = [topics.select_level2(p, topics.select_iptc(r)) for p, r in zip(level2, ranked, strict=True)]
    by_threshold = {
        str(t): round(
            sum(
                bool(topics.select_level2(p, topics.select_iptc(r), t))
                for p, r in zip(level2, ranked, strict=True)
            )
            / len(english),
            4,
        )
        for t in (0.5, 0.6, 0.7, 0.8)
    }
    report = {
        "articles": len(articles),
        "english": len(english),
        "threshold": topics.LEVEL2_THRESHOLD,
        "coverage": round(sum(bool(c) for c in chosen) / len(english), 4),
        "coverage_by_threshold": by_threshold,
        "second_levels": Counter(k for c in chosen for k in c).most_common(),
        "samples": [(a.title, c) for a, c in list(zip(english, chosen, strict=True))[::40]],
    }
    print(json.dumps(report, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
