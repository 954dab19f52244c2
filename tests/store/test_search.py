"""Search: OR and quoted phrases (escaped safely), filters without words, sort by date or relevance, pages."""

from __future__ import annotations

import json
import os
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from tidings.config import Settings
from tidings.store import search as search_module
from tidings.store.search import SearchFilters, fts5_match, parse_query, pg_tsquery, search, search_articles

PLACES = ["Armenia", "Georgia", "Azerbaijan", "Turkey", "Iran"]


VOCABULARY = [
    "harbour",
    "orchard",
    "bridge",
    "council",
    "ferry",
    "market",
    "railway",
    "school",
    "museum",
    "river",
    "festival",
    "clinic",
    "library",
    "factory",
    "election",
    "budget",
    "harvest",
    "drought",
    "storm",
    "vaccine",
    "stadium",
    "airport",
    "tunnel",
    "canal",
    "glacier",
    "vineyard",
    "quarry",
    "mine",
    "tariff",
    "strike",
    "protest",
    "court",
    "senate",
    "parliament",
    "embassy",
    "border",
    "pipeline",
    "reservoir",
]


def _articles() -> list[dict[str, object]]:
    rng = random.Random(3)
    out: list[dict[str, object]] = []
    for i in range(45):
        place = PLACES[i % len(PLACES)]
        words = " ".join(rng.sample(VOCABULARY, 25))  # distinct bodies: no near-duplicates
        closing = "The prime minister spoke there." if i % 9 == 0 else "Minister, prime rates."
        out.append(
            {
                "url": f"https://caucasus.example/{i}",
                "title": f"Weekly note {i} from {place}",
                "text": f"Our correspondent in {place} reports, week {i}: {words}. {closing}",
                "source": "Caucasus Post" if i % 2 else "Valley Courier",
                "tags": [place],
                "published": datetime(2024, 1, 1 + i % 28, 12, tzinfo=UTC).isoformat(),
            }
        )
    return out


def _ingest(settings: Settings, folder: Path) -> Engine:
    from tidings.pipeline.ingest import ingest_sources
    from tidings.store import open_engine

    src = folder / "caucasus.jsonl"
    src.write_text("".join(json.dumps(a) + "\n" for a in _articles()), encoding="utf-8")
    engine = open_engine(settings)
    ingest_sources([str(src)], settings, engine)
    return engine


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite store holding 45 short articles about five places."""
    settings = Settings(home=tmp_path, enrich=False, subscribe_starter=False, fetch_full_text=False)
    engine = _ingest(settings, tmp_path)
    yield engine
    engine.dispose()


def test_parse_keeps_only_words_and_builds_or_groups() -> None:
    assert parse_query('Armenia OR Georgia "prime minister" market') == [
        [["Armenia"], ["Georgia"]],
        [["prime", "minister"]],
        [["market"]],
    ]
    hostile = 'title:x NEAR(a b) "unterminated * ) OR'
    # Every word ends up inside double quotes: FTS5 sees no column filter, NEAR, star or bracket.
    assert fts5_match(parse_query(hostile)) == '"title x" "NEAR a" "b" "unterminated OR"'
    assert pg_tsquery(parse_query("a OR b c")) == "(('a') | ('b')) & (('c'))"
    assert parse_query("OR OR") == [] and parse_query('""') == []


def check_search(engine: Engine) -> None:
    """The behaviour every database must show (SQLite here, PostgreSQL in CI)."""
    with engine.connect() as conn:
        one = search(conn, "Armenia", SearchFilters(), limit=50)
        either = search(conn, "Armenia OR Georgia", SearchFilters(), limit=50)
        assert len(one) == 9 and len(either) == 18
        phrase = search(conn, '"prime minister"', SearchFilters(), limit=50)
        assert len(phrase) == 5  # i % 9 == 0; "Minister and prime rates" is not the phrase
        pages = [search(conn, "week", SearchFilters(), limit=20, offset=k * 20) for k in range(3)]
        assert [len(p) for p in pages] == [20, 20, 5]
        ids = [h["article_id"] for p in pages for h in p]
        assert len(set(ids)) == 45
        browse = search(conn, "", SearchFilters(source="caucasus post"), sort="date", limit=50)
        assert len(browse) == 22 and all(h["source"] == "Caucasus Post" for h in browse)
        times = [h["sort_time"] for h in browse]
        assert times == sorted(times, reverse=True)
        tagged = search(conn, "", SearchFilters(topic="iran"), limit=50)
        assert len(tagged) == 9
        window = SearchFilters(since=datetime(2024, 1, 3, tzinfo=UTC), until=datetime(2024, 1, 4, tzinfo=UTC))
        assert {h["sort_time"].day for h in search(conn, "", window, limit=50)} == {3}
        by_date = search(conn, "Armenia OR Georgia", SearchFilters(), sort="date", limit=50)
        assert [h["sort_time"] for h in by_date] == sorted((h["sort_time"] for h in by_date), reverse=True)
        assert search_articles(conn, 'NEAR("x" OR') == []


def check_bounded_ranking(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A query matching more than RANKED_MATCHES articles ranks only the newest that many (bounded cost)."""
    monkeypatch.setattr(search_module, "RANKED_MATCHES", 4)
    with engine.connect() as conn:
        newest = conn.execute(text("SELECT id FROM articles ORDER BY id DESC LIMIT 4")).scalars().all()
        ranked = search(conn, "week", SearchFilters(), limit=50)
        assert sorted(h["article_id"] for h in ranked) == sorted(newest)
        scores = [h["score"] for h in ranked]
        assert scores == sorted(scores, reverse=True)
        assert len(search(conn, "week", SearchFilters(), sort="date", limit=50)) == 45  # by date: unbounded


def test_search_on_sqlite(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    check_search(sqlite_engine)
    check_bounded_ranking(sqlite_engine, monkeypatch)


PG_URL = os.environ.get("TIDINGS_TEST_POSTGRES_URL", "")


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="TIDINGS_TEST_POSTGRES_URL is not set")
def test_search_on_postgres(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"tidings_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    settings = Settings(home=tmp_path, database_url=url, enrich=False, subscribe_starter=False)
    try:
        engine = _ingest(settings, tmp_path)
        check_search(engine)
        check_bounded_ranking(engine, monkeypatch)
        engine.dispose()
    finally:
        from tidings.store import reset_engines

        reset_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
