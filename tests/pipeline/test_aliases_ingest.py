"""Cross-document aliases through real ingestion (real NER, real SQLite): a later article's "Mrs Okafor"
is stored, chipped and clustered under the full name earlier articles gave."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from tidings.config import Settings
from tidings.pipeline.ingest import ingest_sources
from tidings.store import open_engine
from tidings.store.tables import article_entities, articles

pytestmark = pytest.mark.slow

FULL = (
    "Grace Okafor, the mayor of the harbour town, opened the new ferry terminal on {day}. "
    "Grace Okafor said the terminal would bring visitors and jobs to the coast. "
    "The terminal cost less than planned, the council said, and ferries will run every hour."
)
SHORT = (
    "Mrs Okafor told the council on {day} that the ferry timetable would change in the summer. "
    "Okafor said that more boats would run at weekends. "
    "Council members welcomed the plan and asked for more parking near the harbour."
)


def test_a_later_surname_takes_the_full_name_the_store_knows(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, subscribe_starter=False)
    engine = open_engine(settings)
    days = ["Monday", "Tuesday", "Wednesday"]
    rows = [
        {
            "url": f"https://harbour.example/{i}",
            "title": f"Ferry terminal news {i}",
            "text": FULL.format(day=d),
        }
        for i, d in enumerate(days)
    ]
    path = tmp_path / "first.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ingest_sources([str(path)], settings, engine)
    later = {
        "url": "https://harbour.example/later",
        "title": "Ferry timetable to change",
        "text": SHORT.format(day="Friday"),
    }
    path = tmp_path / "later.jsonl"
    path.write_text(json.dumps(later) + "\n")
    ingest_sources([str(path)], settings, engine)
    with engine.connect() as conn:
        later_id = conn.execute(select(articles.c.id).where(articles.c.url == later["url"])).scalar_one()
        keys = set(
            conn.execute(
                select(article_entities.c.entity_key).where(article_entities.c.article_id == later_id)
            ).scalars()
        )
    assert "person:grace-okafor" in keys
    assert "person:okafor" not in keys
