"""Acceptance-style checks on the real offline demo corpus (skipped when ../shared is absent)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest

from tests.conftest import shared_path
from tidings.rank import Candidate, Profile, UserControls, build_feed

pytestmark = pytest.mark.shared


def _demo_candidates() -> list[Candidate]:
    out = []
    for folder in ("globalvoices-2012-05", "wikinews-2005-04-05"):
        path = shared_path("data", "demo-corpus", folder, "articles.jsonl")
        for line in filter(None, path.read_text(encoding="utf-8").split("\n")):
            row = json.loads(line)
            published = datetime.fromisoformat(row["published"].replace("Z", "+00:00"))
            out.append(
                Candidate(
                    article_id=row["id"],
                    story_id=None,
                    title=row["title"],
                    source=row["source"],
                    topics=list(row.get("categories") or []),
                    keywords=row["title"].lower(),
                    published_at=published if published.tzinfo else published.replace(tzinfo=UTC),
                )
            )
    return out


def _seed() -> Candidate:
    lines = [
        ln.strip() for ln in shared_path("fixtures", "seed-article-scraped.txt").read_text().splitlines()
    ]
    title = next(ln for ln in lines if "Trump welcomes" in ln)
    return Candidate(
        article_id="seed",
        story_id=None,
        title=title,
        source="scmp.com",
        topics=["North Korea"],
        keywords=title.lower(),
        published_at=datetime(2019, 4, 26, tzinfo=UTC),
    )


def test_follow_north_korea_puts_the_seed_in_the_top_three() -> None:
    cands = [*_demo_candidates(), _seed()]
    result = build_feed(Profile(), UserControls(follows=[("topic", "North Korea")]), cands, datetime.now(UTC))
    assert "seed" in [i.article_id for i in result.items[:3]]
    assert result.window_anchored and result.window_extended


def test_old_demo_news_gives_a_full_feed() -> None:
    result = build_feed(Profile(), UserControls(), _demo_candidates(), datetime.now(UTC))
    assert result.window_anchored and result.window_extended  # old news never empties the feed
    # The window's newest 200 articles come from one site: caps move its stories down, never out.
    assert len(result.items) == 20
    assert result.caps_relaxed == (max(Counter(i.source for i in result.items).values()) > 6)


def test_old_demo_news_gives_full_later_pages() -> None:
    result = build_feed(Profile(), UserControls(), _demo_candidates(), datetime.now(UTC), limit=60)
    assert len(result.items) == 60
    assert len({i.article_id for i in result.items}) == 60
