"""Cross-document aliases through real ingestion (real NER, real SQLite): a later article's "Mrs Okafor"
is stored, chipped and clustered under the full name earlier articles gave."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from tidings.config import Settings
from tidings.pipeline.ingest import ingest_sources
from tidings.pipeline.reenrich import enrich_pending
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


def ingest_rows(
    tmp_path: Path, name: str, rows: list[dict[str, str]], settings: Settings, engine: Engine
) -> None:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ingest_sources([str(path)], settings, engine)


def keys_of(engine: Engine, url: str) -> set[str]:
    with engine.connect() as conn:
        article_id = conn.execute(select(articles.c.id).where(articles.c.url == url)).scalar_one()
        query = select(article_entities.c.entity_key).where(article_entities.c.article_id == article_id)
        return set(conn.execute(query).scalars())


def test_a_surname_takes_the_full_name_the_store_knows_at_ingest_and_on_reenrich(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, subscribe_starter=False)
    engine = open_engine(settings)
    early = {
        "url": "https://harbour.example/early",
        "title": "Ferry plans",
        "text": SHORT.format(day="Sunday"),
    }
    ingest_rows(tmp_path, "early", [early], settings, engine)
    assert "person:okafor" in keys_of(engine, early["url"])  # nobody named in full yet
    full = [
        {
            "url": f"https://harbour.example/{i}",
            "title": f"Ferry terminal news {i}",
            "text": FULL.format(day=d),
        }
        for i, d in enumerate(["Monday", "Tuesday", "Wednesday"])
    ]
    ingest_rows(tmp_path, "full", full, settings, engine)
    later = {
        "url": "https://harbour.example/later",
        "title": "Ferry timetable",
        "text": SHORT.format(day="Friday"),
    }
    ingest_rows(tmp_path, "later", [later], settings, engine)
    keys = keys_of(engine, later["url"])
    assert "person:grace-okafor" in keys and "person:okafor" not in keys
    # `tidings enrich --pending` resolves the article stored before the full name was known.
    result = enrich_pending(engine, settings)
    assert result["aliased"] >= 1
    keys = keys_of(engine, early["url"])
    assert "person:grace-okafor" in keys and "person:okafor" not in keys
