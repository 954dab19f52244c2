"""Migration 0003 keeps what was read so far: past events become reading state, feed-less articles get a
publisher source; on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

PG_URL = os.environ.get("TIDINGS_TEST_POSTGRES_URL", "")


def upgrade(engine: Engine, revision: str) -> None:
    """Run the packaged migrations up to a revision."""
    from alembic import command

    from tidings.store.engine import alembic_config

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of each kind."""
    if request.param == "sqlite":
        eng = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
        yield eng
        eng.dispose()
        return
    if not PG_URL:
        pytest.skip("TIDINGS_TEST_POSTGRES_URL is not set")
    name = f"tidings_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng = create_engine(PG_URL.rsplit("/", 1)[0] + f"/{name}")
    yield eng
    eng.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_0003_backfills_state_and_publishers(engine: Engine) -> None:
    upgrade(engine, "0001")
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, name, is_admin, created_at, onboarded)"
                " VALUES (1, 'ann', false, :t, true)"
            ),
            {"t": now},
        )
        for aid, source in ((1, "Quay News"), (2, "Quay News"), (3, None)):
            conn.execute(
                text(
                    "INSERT INTO articles (id, url, content_hash, source, title, ingested_at, text, html,"
                    " status, is_teaser, fulltext_attempts, sort_time)"
                    " VALUES (:id, :url, :h, :s, 't', :t, '', '', 'ok', false, 0, :t)"
                ),
                {"id": aid, "url": f"https://quay.example/{aid}", "h": f"h{aid}", "s": source, "t": now},
            )
        for aid, kind in ((1, "click"), (1, "save"), (2, "hide"), (3, "like"), (2, "impression")):
            conn.execute(
                text("INSERT INTO events (user_id, article_id, kind, created_at) VALUES (1, :a, :k, :t)"),
                {"a": aid, "k": kind, "t": now},
            )
    upgrade(engine, "head")
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT article_id, is_read, is_starred, is_hidden, liked FROM read_state ORDER BY article_id"
            )
        ).all()
        sources = conn.execute(text("SELECT id, kind, title, site_url FROM sources ORDER BY id")).all()
        linked = conn.execute(text("SELECT id, source_id FROM articles ORDER BY id")).all()
    assert [(r[0], bool(r[1]), bool(r[2]), bool(r[3]), r[4]) for r in rows] == [
        (1, True, True, False, 0),
        (2, False, False, True, 0),
        (3, False, False, False, 1),
    ]
    assert {(s[1], s[2], s[3]) for s in sources} == {
        ("page", "Quay News", "https://quay.example/"),
        ("page", "unknown", "https://quay.example/"),
    }
    by_title = {s[2]: s[0] for s in sources}
    assert [r[1] for r in linked] == [by_title["Quay News"], by_title["Quay News"], by_title["unknown"]]
