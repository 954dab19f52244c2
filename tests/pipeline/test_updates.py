"""Changed articles, odd dates and empty texts: merged deliberately, with no orphan or duplicate story."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from tidings.config import Settings
from tidings.pipeline.ingest import ingest_sources
from tidings.store import open_engine
from tidings.store.tables import articles, stories

BODY = (
    "Council engineers closed the old stone bridge on Monday after inspectors found cracks in two arches, "
    "and said repairs would take at least a month while traffic is diverted through the ring road. "
)


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> str:
    """Write rows as JSONL and return the path as a string."""
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_update_is_merged_without_orphans(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, enrich=False, subscribe_starter=False)
    engine = open_engine(settings)
    first = {
        "url": "https://city.example/bridge",
        "title": "Old bridge closed",
        "text": BODY,
        "published_at": "2024-03-04T09:00:00Z",
    }
    second = {
        **first,
        "text": BODY + "An update: a temporary footbridge will open on Friday.",
        "published_at": "2024-03-04T15:30:00Z",
    }
    a = ingest_sources([write_jsonl(tmp_path / "a.jsonl", [first])], settings, engine)
    b = ingest_sources([write_jsonl(tmp_path / "b.jsonl", [second])], settings, engine)
    c = ingest_sources([str(tmp_path / "b.jsonl")], settings, engine)
    assert [x["status"] for x in a.articles] == ["new"]
    assert [x["status"] for x in b.articles] == ["updated"]
    assert [x["status"] for x in c.articles] == ["duplicate"]
    with engine.connect() as conn:
        rows = conn.execute(select(articles.c.id, articles.c.text, articles.c.story_id)).all()
        story_rows = conn.execute(select(stories.c.id, stories.c.size)).all()
    assert len(rows) == 1 and "footbridge" in rows[0].text
    assert [(s.id, s.size) for s in story_rows] == [(rows[0].story_id, 1)]


def test_missing_future_and_garbage_dates_and_empty_text(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, enrich=False, subscribe_starter=False)
    engine = open_engine(settings)
    rows = [
        {"url": "https://a.example/1", "title": "No date at all", "text": BODY},
        {
            "url": "https://a.example/2",
            "title": "From the future",
            "text": BODY[::-1],
            "published_at": "2999-01-01T00:00:00Z",
        },
        {
            "url": "https://a.example/3",
            "title": "Unreadable date",
            "text": "Short text.",
            "published": "not a date",
        },
        {"url": "https://a.example/4", "title": "Empty body", "text": ""},
    ]
    report = ingest_sources([write_jsonl(tmp_path / "d.jsonl", rows)], settings, engine)
    assert [x["status"] for x in report.articles] == ["new"] * 4
    with engine.connect() as conn:
        stored = conn.execute(
            select(articles.c.title, articles.c.sort_time, articles.c.ingested_at, articles.c.story_id)
        ).all()
    for row in stored:
        assert row.sort_time <= row.ingested_at  # a future date never floats to the top
        assert row.story_id is not None
