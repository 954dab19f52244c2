"""Story clustering on the hand-labelled same-day feed groups: incremental clustering scored with B-cubed."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser

from tidings.config import Settings
from tidings.eval.bcubed import bcubed
from tidings.eval.pairs import TextItem, build_signatures
from tidings.stories.index import StoryClusterer
from tidings.stories.signature import ArticleSignature

REPO_ROOT = Path(__file__).resolve().parents[3]
GOLD_LABELS = REPO_ROOT / "tests" / "data" / "stories" / "gold-same-day.json"
FEEDS_DIR = REPO_ROOT.parent / "shared" / "data" / "feeds-2019-2023"
GOLD_FEEDS = ("bbc.xml", "theguardian.xml", "eldiario.xml", "cnn.xml", "nytimes.xml")
_TAG_RE = re.compile(r"<[^>]+>")


@dataclass
class GoldEntry:
    """A labelled feed entry (text read from shared data at run time, never committed)."""

    url: str
    label: str
    item: TextItem


def strip_html(markup: str) -> str:
    """Plain text of a feed summary."""
    return re.sub(r"\s+", " ", html.unescape(_TAG_RE.sub(" ", markup))).strip()


def _entry_time(entry: Any) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    year, month, day, hour, minute, second = parsed[:6]
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def load_gold_entries(feeds_dir: Path = FEEDS_DIR, labels_path: Path = GOLD_LABELS) -> list[GoldEntry]:
    """The labelled entries found in the feeds, with title + summary as text and the feed file as source."""
    labels: dict[str, str] = json.loads(labels_path.read_text(encoding="utf-8"))
    entries: list[GoldEntry] = []
    for name in GOLD_FEEDS:
        for entry in feedparser.parse(str(feeds_dir / name)).entries:
            url = entry.get("link")
            if url in labels:
                item = TextItem(
                    entry.get("title", ""), strip_html(entry.get("summary", "")), _entry_time(entry), name
                )
                entries.append(GoldEntry(url, labels[url], item))
    return entries


def cluster_in_order(signatures: Sequence[ArticleSignature], reverse: bool = False) -> dict[int, int]:
    """Cluster signatures one by one in time order (or reverse) and return article id -> story id."""
    far_future = datetime.max.replace(tzinfo=UTC)
    ordered = sorted(signatures, key=lambda s: (s.event_time or far_future, s.article_id), reverse=reverse)
    clusterer = StoryClusterer()
    for sig in ordered:
        clusterer.add(sig)
    return clusterer.clusters()


def mixed_stories(pred: dict[int, int], gold: dict[int, str]) -> list[list[str]]:
    """Predicted stories that hold more than one gold multi-article event (clearly different events mixed)."""
    sizes: dict[str, int] = {}
    for label in gold.values():
        sizes[label] = sizes.get(label, 0) + 1
    by_story: dict[int, set[str]] = {}
    for aid, story in pred.items():
        by_story.setdefault(story, set()).add(gold[aid])
    return [sorted(labels) for labels in by_story.values() if sum(sizes[lab] > 1 for lab in labels) > 1]


def evaluate_gold(settings: Settings, reverse: bool = False, feeds_dir: Path = FEEDS_DIR) -> dict[str, Any]:
    """B-cubed precision/recall/F1 of incremental clustering on the labelled same-day set."""
    entries = load_gold_entries(feeds_dir)
    signatures = build_signatures([e.item for e in entries], settings)
    gold = {sig.article_id: e.label for sig, e in zip(signatures, entries, strict=True)}
    pred = cluster_in_order(signatures, reverse=reverse)
    precision, recall, f1 = bcubed(pred, gold)
    return {
        "articles": len(entries),
        "gold_stories": len(set(gold.values())),
        "predicted_stories": len(set(pred.values())),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "mixed": mixed_stories(pred, gold),
        "order": "reverse" if reverse else "forward",
    }
