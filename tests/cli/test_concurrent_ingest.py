"""Two ingesters at once: no duplicate articles, and the same stories one ingester would make."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import shared_path
from tidings.eval.bcubed import bcubed


def stories_of(db: Path) -> dict[str, int]:
    """Canonical URL -> story id for every stored article."""
    rows = sqlite3.connect(db).execute("select coalesce(canonical_url, content_hash), story_id from articles")
    return {key: story for key, story in rows}


def ingest(home: Path, sources: list[str]) -> subprocess.Popen[bytes]:
    """Start `tidings ingest` in its own process."""
    env = {**os.environ, "TIDINGS_HOME": str(home), "TIDINGS_ENRICH": "0", "TIDINGS_BATCH_SIZE": "16"}
    return subprocess.Popen(
        [sys.executable, "-m", "tidings", "ingest", *sources, "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.sqlite_only
@pytest.mark.shared
@pytest.mark.slow
def test_two_ingesters_make_no_duplicates_and_the_same_stories(tmp_path: Path) -> None:
    feeds = shared_path("data", "feeds-2019-2023")
    files = sorted(str(p) for p in feeds.glob("*.xml"))
    first_half, second_half = files[: len(files) // 2 + 3], files[len(files) // 2 - 3 :]  # overlapping sets
    together = tmp_path / "together"
    procs = [ingest(together, first_half), ingest(together, list(reversed(second_half)))]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err.decode()[-2000:]
    alone = tmp_path / "alone"
    single = ingest(alone, files)
    assert single.wait(timeout=600) == 0
    db = sqlite3.connect(together / "tidings.db")
    assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
    dupes = db.execute(
        "select count(*) from (select canonical_url from articles where canonical_url is not null "
        "group by canonical_url having count(*) > 1)"
    ).fetchone()[0]
    assert dupes == 0
    orphans = db.execute("select count(*) from articles where story_id is null").fetchone()[0]
    assert orphans == 0
    empty = db.execute(
        "select count(*) from stories s where size > 0 and not exists "
        "(select 1 from articles a where a.story_id = s.id)"
    ).fetchone()[0]
    assert empty == 0
    mismatched = db.execute(
        "select count(*) from stories s where size != "
        "(select count(*) from articles a where a.story_id = s.id)"
    ).fetchone()[0]
    assert mismatched == 0
    pred, gold = stories_of(together / "tidings.db"), stories_of(alone / "tidings.db")
    assert set(pred) == set(gold)
    _, _, f1 = bcubed(pred, gold)
    print(f"B-cubed F1 of two ingesters against one: {f1:.4f}")
    assert f1 >= 0.97
