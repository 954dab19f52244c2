"""Crash consistency: SIGKILL `tidings ingest` and `tidings serve` (events being posted) at random points.

After each kill the SQLite file passes `PRAGMA integrity_check`, nothing committed or acknowledged is missing,
and a restart completes the pending work. Bounded: 50 kills in all (TIDINGS_CRASH_MIN_KILLS sets fewer
per test).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import free_port

# The children run on their own SQLite file (env_for drops TIDINGS_DATABASE_URL): this is about that file.
pytestmark = [pytest.mark.slow, pytest.mark.hostile, pytest.mark.sqlite_only]

MAX_KILLS = 50
BUDGET_SECONDS = float(os.environ.get("TIDINGS_CRASH_BUDGET", "60"))  # per test, after the minimum kills
MIN_KILLS_EACH = int(
    os.environ.get("TIDINGS_CRASH_MIN_KILLS", str(MAX_KILLS // 2))
)  # 50 kills in all by default
ARTICLES = 240


def body(n: int) -> str:
    """A distinct article text in our own words."""
    return (
        f"Report {n}: the harbour board met on day {n} and agreed {n % 7 + 2} changes to the mooring fees, "
        f"after {n * 3} boat owners signed a letter asking for a cheaper winter rate and a new slipway."
    )


def write_articles(path: Path, prefix: str) -> None:
    """A JSONL file of ARTICLES distinct articles."""
    lines = [
        json.dumps(
            {"url": f"https://crash.example/{prefix}/{n}", "title": f"{prefix} {n}", "text": body(n) + prefix}
        )
        for n in range(ARTICLES)
    ]
    path.write_text("\n".join(lines) + "\n")


def env_for(home: Path) -> dict[str, str]:
    """The environment of a child `tidings` process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")}
    env.update(TIDINGS_HOME=str(home), TIDINGS_ENRICH="0", TIDINGS_SUBSCRIBE_STARTER="0")
    env.update(TIDINGS_BACKGROUND_REFRESH="0", TIDINGS_ALLOW_PRIVATE_NETWORKS="1")
    return env


def tidings(*args: str) -> list[str]:
    """The command line of the CLI in this interpreter."""
    return [sys.executable, "-c", "from tidings.cli.main import run; run()", *args]


def check_database(home: Path) -> sqlite3.Connection:
    """Open the database read-only-ish and assert integrity and consistency."""
    conn = sqlite3.connect(home / "tidings.db", timeout=30)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    orphans = conn.execute(
        "SELECT count(*) FROM articles WHERE story_id IS NULL OR story_id NOT IN (SELECT id FROM stories)"
    ).fetchone()[0]
    assert orphans == 0  # an article and its story are written in one transaction
    return conn


def count(conn: sqlite3.Connection, sql: str) -> int:
    """A single integer from SQL."""
    return int(conn.execute(sql).fetchone()[0])


@pytest.fixture
def deadline() -> Iterator[float]:
    """When this test should stop adding kills."""
    yield time.monotonic() + BUDGET_SECONDS


def test_sigkill_during_ingest_loses_nothing_and_restart_completes(tmp_path: Path, deadline: float) -> None:
    home = tmp_path / "home"
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_articles(first, "a")
    write_articles(second, "b")
    env = env_for(home)
    started = time.monotonic()
    subprocess.run(tidings("ingest", str(first)), env=env, check=True, capture_output=True, timeout=300)
    full_run = time.monotonic() - started
    rng = random.Random(17)
    stored = count(check_database(home), "SELECT count(*) FROM articles")
    assert stored == ARTICLES
    kills = 0
    while kills < MAX_KILLS // 2 and (
        kills < MIN_KILLS_EACH or time.monotonic() < deadline - BUDGET_SECONDS / 2
    ):
        proc = subprocess.Popen(
            tidings("ingest", str(second)), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.2, full_run * 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        conn = check_database(home)
        now = count(conn, "SELECT count(*) FROM articles")
        dupes = count(conn, "SELECT count(*) - count(DISTINCT canonical_url) FROM articles")
        conn.close()
        assert now >= stored and dupes == 0  # nothing committed is lost, nothing doubled
        stored = now
    done = subprocess.run(
        tidings("ingest", str(second), "--json"), env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    conn = check_database(home)
    assert count(conn, "SELECT count(*) FROM articles") == 2 * ARTICLES  # the restart completed the rest
    assert (
        count(conn, "SELECT count(*) FROM articles WHERE canonical_url LIKE 'https://crash.example/b/%'")
        == ARTICLES
    )


def post_events(base: str, token: str, ids: list[int], acked: list[int], stop: threading.Event) -> None:
    """Post feedback events until stopped; record each acknowledged (200) event's article id."""
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(5)
    with httpx.Client(timeout=5) as client:
        while not stop.is_set():
            article_id = rng.choice(ids)
            try:
                resp = client.post(
                    f"{base}/api/v1/events",
                    json={"article_id": article_id, "kind": "impression"},
                    headers=headers,
                )
            except httpx.HTTPError:
                time.sleep(0.05)
                continue
            if resp.status_code == 200:
                acked.append(article_id)


def wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    """Block until the server answers (or fail if it died)."""
    for _ in range(600):
        assert proc.poll() is None, "server exited"
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("server did not start")


def test_sigkill_during_serve_keeps_every_acknowledged_event(tmp_path: Path, deadline: float) -> None:
    home = tmp_path / "home"
    seed = tmp_path / "seed.jsonl"
    write_articles(seed, "s")
    env = env_for(home)
    subprocess.run(tidings("ingest", str(seed)), env=env, check=True, capture_output=True, timeout=300)
    subprocess.run(
        tidings("user", "add", "crash", "--password-stdin"),
        env=env,
        input=b"crash-test-pass-1\n",
        check=True,
        capture_output=True,
    )
    made = subprocess.run(
        tidings("user", "token", "crash", "--json"), env=env, check=True, capture_output=True, text=True
    )
    token = json.loads(made.stdout)["token"]
    ids = [row[0] for row in check_database(home).execute("SELECT id FROM articles")]
    rng = random.Random(23)
    acked: list[int] = []
    kills = 0
    while kills < MAX_KILLS // 2 and (kills < MIN_KILLS_EACH or time.monotonic() < deadline):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen(
            tidings("serve", "--port", str(port)),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_ready(base, proc)
        stop = threading.Event()
        posters = [
            threading.Thread(target=post_events, args=(base, token, ids, acked, stop)) for _ in range(3)
        ]
        for thread in posters:
            thread.start()
        time.sleep(rng.uniform(0.3, 2.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stop.set()
        for thread in posters:
            thread.join()
        kills += 1
        conn = check_database(home)
        stored = count(conn, "SELECT count(*) FROM events")
        conn.close()
        assert stored >= len(acked)  # every event the server acknowledged survived the kill
    assert acked, "no event was acknowledged at all"
    # A restart serves again on the same database.
    port = free_port()
    proc = subprocess.Popen(
        tidings("serve", "--port", str(port)), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc)
        feed = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/feed", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert feed.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
