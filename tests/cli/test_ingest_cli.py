"""End-to-end ingestion through the CLI: real files, real SQLite, JSON output as in the contract."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import shared_path
from tidings.cli.main import app

runner = CliRunner()


def run_json(*args: str) -> dict:
    """Run a CLI command with --json and parse its stdout."""
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def no_enrich(tidings_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Fast ingestion for tests that check storage, not enrichment."""
    monkeypatch.setenv("TIDINGS_ENRICH", "0")
    from tidings.config import get_settings

    get_settings.cache_clear()
    return tidings_env


@pytest.mark.sqlite_only
def test_init_is_idempotent(no_enrich: Path) -> None:
    first = run_json("init")
    second = run_json("init")
    assert first == second
    assert first["database"].endswith("tidings.db")
    assert first["version"]


def test_ingest_jsonl_then_again_is_duplicate(no_enrich: Path, tmp_path: Path) -> None:
    lines = [
        {
            "url": "https://news.example/a?utm_source=x",
            "title": "Harbour bridge reopens",
            "text": "The bridge reopened on Monday after three weeks of repairs to its cables, "
            "the city council said.\n\nTraffic was light.",
        },
        {
            "url": "https://news.example/b",
            "title": "Library extends hours",
            "text": "The central library will stay "
            "open until ten at night from next month, its director announced on Tuesday.",
        },
        {"title": "no url here", "text": "missing url"},
    ]
    path = tmp_path / "articles.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    out = run_json("ingest", str(path))
    assert [a["status"] for a in out["articles"]] == ["new", "new"]
    assert len(out["errors"]) == 2 and all(e["source"] == str(path) for e in out["errors"])
    again = run_json("ingest", str(path))
    assert [a["status"] for a in again["articles"]] == ["duplicate", "duplicate"]
    art = run_json("article", str(out["articles"][0]["id"]))
    assert art["canonical_url"] == "https://news.example/a"
    assert art["text"].startswith("The bridge reopened")
    found = run_json("search", "library hours")
    assert [i["article_id"] for i in found["items"]] == [out["articles"][1]["id"]]


def test_same_content_under_another_url_is_duplicate(no_enrich: Path, tmp_path: Path) -> None:
    body = "A long enough body about a new tram line that opens next spring across the river. " * 4
    path = tmp_path / "a.jsonl"
    path.write_text(
        json.dumps({"url": "https://a.example/x", "title": "Tram", "text": body})
        + "\n"
        + json.dumps({"url": "https://b.example/y", "title": "Tram line", "text": body.upper()})
        + "\n"
    )
    out = run_json("ingest", str(path))
    assert [a["status"] for a in out["articles"]] == ["new", "duplicate"]


def test_missing_source_is_one_line_error(no_enrich: Path) -> None:
    result = runner.invoke(app, ["ingest", "/nonexistent/thing", "--json"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output


def test_unknown_article_is_clear_error(no_enrich: Path) -> None:
    result = runner.invoke(app, ["article", "999"])
    assert result.exit_code == 1
    assert "no article with id 999" in result.output


@pytest.mark.sqlite_only
@pytest.mark.shared
@pytest.mark.slow
def test_ingest_real_feeds_is_idempotent(no_enrich: Path) -> None:
    feeds = shared_path("data", "feeds-2019-2023")
    out = run_json("ingest", str(feeds))
    new = [a for a in out["articles"] if a["status"] == "new"]
    assert len(new) > 600
    warned = {Path(e["source"]).name for e in out["errors"]}
    assert {"elpais.xml", "europapress.xml"} <= warned
    assert all("\n" not in e["error"] and "Traceback" not in e["error"] for e in out["errors"])
    db = sqlite3.connect(no_enrich / "tidings.db")
    count = db.execute("select count(*) from articles").fetchone()[0]
    again = run_json("ingest", str(feeds))
    assert {a["status"] for a in again["articles"]} == {"duplicate"}
    assert db.execute("select count(*) from articles").fetchone()[0] == count


@pytest.mark.sqlite_only
@pytest.mark.shared
@pytest.mark.slow
def test_sigkill_mid_ingest_leaves_consistent_database(no_enrich: Path) -> None:
    feeds = shared_path("data", "feeds-2019-2023")
    env = {**os.environ, "TIDINGS_BATCH_SIZE": "8"}
    cmd = [sys.executable, "-m", "tidings", "ingest", str(feeds), "--json"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db_path = no_enrich / "tidings.db"
    deadline = time.time() + 120
    count = 0
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
        if db_path.exists():
            try:
                count = (
                    sqlite3.connect(db_path, timeout=1).execute("select count(*) from articles").fetchone()[0]
                )
            except sqlite3.OperationalError:
                continue
            if count >= 40:
                break
    assert proc.poll() is None, "ingest finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    db = sqlite3.connect(db_path)
    assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
    partial = db.execute("select count(*) from articles").fetchone()[0]
    assert partial >= count
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    total = db.execute("select count(*) from articles").fetchone()[0]
    dupes = db.execute(
        "select count(*) from (select canonical_url from articles where canonical_url is not null "
        "group by canonical_url having count(*) > 1)"
    ).fetchone()[0]
    assert total > partial and dupes == 0
    assert db.execute("select count(*) from articles_fts").fetchone()[0] == total


def test_binary_files_are_refused_with_one_line(no_enrich: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "story.txt").write_text(
        "Canal boats return\n\nThe canal reopened to boats on Sunday after dredging."
    )
    (folder / "copy.db").write_bytes(b"SQLite format 3\x00" + bytes(200))
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(100))
    out = run_json("ingest", str(folder))
    assert [a["status"] for a in out["articles"]] == ["new"]
    assert sorted(Path(e["source"]).name for e in out["errors"]) == ["copy.db", "photo.jpg"]
    assert all(e["error"] == "binary file, not an article" for e in out["errors"])


@pytest.mark.slow  # the enricher versions name the embedding model, which is loaded for it
def test_enrich_needs_no_flag_and_still_accepts_pending(tidings_env: Path) -> None:
    assert run_json("enrich") == {"pending": 0, "enriched": 0, "aliased": 0}
    assert run_json("enrich", "--pending", "--limit", "5") == {"pending": 0, "enriched": 0, "aliased": 0}
