"""`tidings backup`, then `tidings restore` elsewhere, serves the same feed (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from tests.live import SEED_ARTICLES, running
from tidings.cli.main import app as cli
from tidings.config import Settings, get_settings

runner = CliRunner()
PG_URL = os.environ.get("TIDINGS_TEST_POSTGRES_URL", "")
NOW = datetime(2025, 6, 2, 12, tzinfo=UTC)
EXTRA = [
    {
        "url": f"https://parish.example/{n}",
        "title": title,
        "text": f"{title}. The parish newsletter reported it on page {n}.",
        "source": "Parish News",
        "published": (NOW - timedelta(hours=n)).isoformat(),
    }
    for n, title in enumerate(
        [
            "Bell tower scaffolding comes down",
            "Allotment waiting list shrinks",
            "Bus shelter gets a new roof",
        ],
        start=1,
    )
]


def _cli(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, *args: str) -> dict[str, Any]:
    """Run a CLI command with --json in the given environment."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    if "TIDINGS_DATABASE_URL" not in env:
        monkeypatch.delenv("TIDINGS_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    from tidings.store import reset_engines

    reset_engines()
    result = runner.invoke(cli, [*args, "--json"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def _settings(home: Path, url: str | None) -> Settings:
    return Settings(
        home=home,
        database_url=url,
        enrich=False,
        background_refresh=False,
        subscribe_starter=False,
        allow_private_networks=True,
        now=NOW,
    )


def _feed_ids(settings: Settings, token: str | None = None) -> tuple[list[int], str]:
    """Serve the store over loopback and read the feed's article ids (making a reader when token is None)."""
    from tidings.service.users import add_user
    from tidings.store.users import create_token
    from tidings.web.app import create_app

    web = create_app(settings)
    if token is None:
        user = add_user(web.state.engine, "reader", "reader-password-1")
        with web.state.engine.begin() as conn:
            _, token = create_token(conn, user["id"], "backup-test")
    with running(web) as base:
        resp = httpx.get(f"{base}/api/v1/feed?limit=50", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.text
    return [item["article_id"] for item in resp.json()["items"]], token


def roundtrip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first: str | None, second: str | None) -> None:
    """Ingest into `first`, back it up, restore into `second` (None: SQLite files) and compare feeds."""
    seed = tmp_path / "seed.jsonl"
    dated = [
        {**a, "published": (NOW - timedelta(hours=4 + n)).isoformat()} for n, a in enumerate(SEED_ARTICLES)
    ]
    seed.write_text("".join(json.dumps(a) + "\n" for a in [*dated, *EXTRA]))
    env_a = {
        "TIDINGS_HOME": str(tmp_path / "a"),
        "TIDINGS_ENRICH": "0",
        **({"TIDINGS_DATABASE_URL": first} if first else {}),
    }
    env_b = {"TIDINGS_HOME": str(tmp_path / "b"), **({"TIDINGS_DATABASE_URL": second} if second else {})}
    _cli(env_a, monkeypatch, "ingest", str(seed))
    before, token = _feed_ids(_settings(tmp_path / "a", first))
    assert len(before) >= 5

    archive = tmp_path / "backups" / "tidings.backup"
    written = _cli(env_a, monkeypatch, "backup", str(archive))
    assert written["bytes"] > 0 and archive.is_file()
    _cli(env_b, monkeypatch, "restore", str(archive))

    after, _ = _feed_ids(_settings(tmp_path / "b", second), token)
    assert after == before
    # A second restore over the now-filled store is refused unless forced: nothing is overwritten by accident.
    get_settings.cache_clear()
    refused = runner.invoke(cli, ["restore", str(archive)])
    assert refused.exit_code == 1 and "not empty" in refused.output


@pytest.mark.sqlite_only
def test_backup_and_restore_on_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    roundtrip(tmp_path, monkeypatch, None, None)
    assert (tmp_path / "b" / "tidings.db").is_file()


@pytest.mark.sqlite_only
def test_backup_of_a_missing_database_is_a_clear_error(tidings_env: Path, tmp_path: Path) -> None:
    get_settings.cache_clear()
    result = runner.invoke(cli, ["backup", str(tmp_path / "out.backup")])
    assert result.exit_code == 1 and "no database at" in result.output
    assert not (tmp_path / "out.backup").exists()


def test_restore_refuses_a_file_that_is_not_a_backup(tidings_env: Path, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.backup"
    bogus.write_bytes(b"not a database at all" * 100)
    get_settings.cache_clear()
    result = runner.invoke(cli, ["restore", str(bogus)])
    assert result.exit_code == 1 and "error:" in result.output and "Traceback" not in result.output


@pytest.fixture
def two_databases() -> Iterator[tuple[str, str]]:
    """Two new, empty databases on the test server."""
    names = [f"tidings_test_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_URL.rsplit("/", 1)[0]
    yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    from tidings.store import reset_engines

    reset_engines()
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="TIDINGS_TEST_POSTGRES_URL is not set")
def test_backup_and_restore_on_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, two_databases: tuple[str, str]
) -> None:
    roundtrip(tmp_path, monkeypatch, *two_databases)
