"""On PostgreSQL, search reads the GIN-indexed stored tsvector (migration 0009), not a scan of every body."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text

from tidings.config import Settings
from tidings.store.search import SearchFilters, search

PG_URL = os.environ.get("TIDINGS_TEST_POSTGRES_URL", "")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="TIDINGS_TEST_POSTGRES_URL is not set"),
]


@pytest.fixture
def pg_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database on the test server."""
    from tidings.store import open_engine, reset_engines

    name = f"tidings_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = open_engine(Settings(home=tmp_path, database_url=url, enrich=False))
    yield engine
    engine.dispose()
    reset_engines()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def _fill(engine: Engine, rows: int) -> None:
    """rows filler articles, one in 5,000 with a rare word (bulk SQL: the pipeline would take minutes)."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO articles (content_hash, title, text, html, status, is_teaser, fulltext_attempts,"
                " ingested_at, sort_time) SELECT md5(g::text), 'Filler ' || g,"
                " repeat('common words about the weather ', 8) || g"
                " || CASE WHEN g % 5000 = 0 THEN ' zanzibarite' ELSE '' END, '', 'ok', false, 0, now(),"
                " now() - g * interval '1 minute' FROM generate_series(1, :rows) g"
            ),
            {"rows": rows},
        )
        conn.execute(text("ANALYZE articles"))


def test_stored_vector_is_generated_and_gin_indexed(pg_engine: Engine) -> None:
    with pg_engine.connect() as conn:
        index = conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE tablename = 'articles' AND indexname = :n"),
            {"n": "ix_articles_search_vector"},
        ).scalar_one()
        old = conn.execute(text("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_articles_search'"))
    assert "USING gin (search_vector)" in index and old.scalar() == 0


def test_search_uses_the_gin_index_and_matches(pg_engine: Engine) -> None:
    _fill(pg_engine, 30000)
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        statements.append((statement, parameters))

    event.listen(pg_engine, "before_cursor_execute", record)
    try:
        with pg_engine.connect() as conn:
            hits = search(conn, "zanzibarite", SearchFilters(), limit=10)
            # Title edits reach the stored vector too (it is generated from title and body).
            conn.execute(text("UPDATE articles SET title = 'Quokka census' WHERE id = 7"))
            retitled = search(conn, "quokka", SearchFilters(), limit=10)
    finally:
        event.remove(pg_engine, "before_cursor_execute", record)
    assert sorted(h["article_id"] for h in hits) == [5000, 10000, 15000, 20000, 25000, 30000]
    assert [h["article_id"] for h in retitled] == [7]
    statement, parameters = next(s for s in statements if "search_vector" in s[0])
    with pg_engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute("EXPLAIN " + statement, parameters)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "ix_articles_search_vector" in plan, plan
