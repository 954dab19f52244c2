"""The same store on a real PostgreSQL server (started by .ci/run; skipped when none is configured)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text

from tidings.config import Settings

PG_URL = os.environ.get("TIDINGS_TEST_POSTGRES_URL", "")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="TIDINGS_TEST_POSTGRES_URL is not set"),
]


@pytest.fixture
def pg_settings(tmp_path: Path) -> Iterator[Settings]:
    """Settings pointing at a fresh database on the test server."""
    name = f"tidings_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    yield Settings(home=tmp_path, database_url=url, enrich=False, subscribe_starter=False)
    from tidings.store import reset_engines

    reset_engines()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_migrate_ingest_search_and_stories_on_postgres(pg_settings: Settings, tmp_path: Path) -> None:
    from tidings.pipeline.ingest import ingest_sources
    from tidings.store import open_engine
    from tidings.store.search import search_articles
    from tidings.store.stories import list_stories

    src = tmp_path / "a.jsonl"
    src.write_text(
        json.dumps(
            {
                "url": "https://pg.example/1",
                "title": "Orchard harvest breaks records",
                "text": "Apple growers in the valley picked a record crop this autumn, the cooperative said.",
            }
        )
        + "\n"
    )
    engine = open_engine(pg_settings)
    first = ingest_sources([str(src)], pg_settings, engine)
    again = ingest_sources([str(src)], pg_settings, engine)
    assert [a["status"] for a in first.articles] == ["new"]
    assert [a["status"] for a in again.articles] == ["duplicate"]
    with engine.connect() as conn:
        hits = search_articles(conn, "record crop")
        stories = list_stories(conn)
    assert [h["article_id"] for h in hits] == [first.articles[0]["id"]]
    assert stories and stories[0]["article_ids"] == [first.articles[0]["id"]]


def test_reads_run_outside_a_transaction_and_writes_inside_one(pg_settings: Settings) -> None:
    """A read-only connection autocommits each statement (no BEGIN/ROLLBACK round trips; READ COMMITTED gives
    each statement its own snapshot either way), while engine.begin() still groups its writes."""
    import time

    from tidings.store import open_engine
    from tidings.store.engine import read_only

    engine = open_engine(pg_settings)

    def transaction_started_twice(conn: Connection) -> bool:
        first = conn.execute(text("SELECT now()")).scalar()
        time.sleep(0.01)
        return bool(first != conn.execute(text("SELECT now()")).scalar())

    with read_only(engine) as conn:
        assert transaction_started_twice(conn)  # now() is the transaction's start: each read is its own
    with engine.begin() as conn:
        assert not transaction_started_twice(conn)
    with read_only(engine) as conn:  # the pooled connection left autocommit when it was returned
        assert transaction_started_twice(conn)
    with engine.connect() as conn:
        assert not transaction_started_twice(conn)
