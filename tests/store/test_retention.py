"""`tidings prune`: old bodies and embeddings go; saved articles and live stories' members stay; idempotent.

Runs on SQLite, and on PostgreSQL when the suite does (TIDINGS_TEST_DATABASE=postgres)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update
from typer.testing import CliRunner

from tidings.cli.main import app
from tidings.store.tables import articles, enrichments, read_state, stories

runner = CliRunner()
NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=400)

LINES = [
    (
        "saved",
        "Lighthouse keeper retires after forty years",
        "The keeper climbed the stairs daily. quillwort",
    ),
    ("plain", "Village hall roof repaired before winter", "Roofers replaced the slates last week. quillwort"),
    ("ferry-a", "Night ferry returns to the island after winter pause", "The night ferry sailed again."),
    ("ferry-b", "Island ferry back in service as winter timetable ends", "Ferry crossings restarted."),
    ("recent", "Choir wins regional singing contest", "The choir sang three songs. quillwort"),
]


def run_json(*args: str) -> dict[str, Any]:
    """Run a CLI command with --json and parse its stdout."""
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


@pytest.fixture
def stocked(
    tidings_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Engine, dict[str, int]]:
    """Five articles with embeddings: three of them over a year old, one of those saved by a reader, one in a
    story that got an article this week."""
    monkeypatch.setenv("TIDINGS_ENRICH", "0")
    from tidings.cli.common import engine
    from tidings.config import get_settings

    get_settings.cache_clear()
    seed = tmp_path / "five.jsonl"
    rows = [
        {"url": f"https://parish.example/{slug}", "title": t, "text": body, "published": NOW.isoformat()}
        for slug, t, body in LINES
    ]
    seed.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run_json("ingest", str(seed))
    runner.invoke(app, ["user", "add", "ann", "--password-stdin"], input="ann-password-1\n")
    eng = engine()
    with eng.begin() as conn:
        ids = {
            slug: int(conn.execute(select(articles.c.id).where(articles.c.url.endswith(slug))).scalar_one())
            for slug, _, _ in LINES
        }
        user = int(conn.exec_driver_sql("SELECT id FROM users WHERE name = 'ann'").scalar_one())
        conn.execute(update(enrichments).values(embedding=b"\x00" * 16))  # enrichment rows exist, vectors not
        old = [ids["saved"], ids["plain"], ids["ferry-a"]]
        conn.execute(update(articles).where(articles.c.id.in_(old)).values(sort_time=OLD, ingested_at=OLD))
        # Old articles' own stories are old; ferry-b joined ferry-a's story this week, so that one is live.
        story_of = {
            slug: conn.execute(select(articles.c.story_id).where(articles.c.id == aid)).scalar_one()
            for slug, aid in ids.items()
        }
        conn.execute(
            update(stories)
            .where(stories.c.id.in_([story_of["saved"], story_of["plain"]]))
            .values(first_seen=OLD, last_updated=OLD)
        )
        conn.execute(
            update(articles).where(articles.c.id == ids["ferry-b"]).values(story_id=story_of["ferry-a"])
        )
        conn.execute(
            insert(read_state).values(user_id=user, article_id=ids["saved"], is_starred=True, updated_at=NOW)
        )
    return eng, ids


def _state(eng: Engine) -> tuple[dict[int, tuple[str, bool]], list[Any]]:
    with eng.connect() as conn:
        bodies = {
            int(r.article_id): (r.text, r.embedding is not None)
            for r in conn.execute(
                select(enrichments.c.article_id, articles.c.text, enrichments.c.embedding).join(
                    articles, articles.c.id == enrichments.c.article_id
                )
            )
        }
        story_rows = [tuple(r) for r in conn.execute(select(stories).order_by(stories.c.id))]
    return bodies, story_rows


def test_prune_keeps_saved_and_live_stories_and_is_idempotent(stocked: tuple[Engine, dict[str, int]]) -> None:
    eng, ids = stocked
    before = _state(eng)

    dry = run_json("prune", "--days", "30", "--dry-run")
    assert (dry["articles"], dry["bodies"], dry["embeddings"], dry["dry_run"]) == (1, 1, 1, True)
    assert _state(eng) == before

    done = run_json("prune", "--days", "30")
    assert (done["articles"], done["bodies"], done["embeddings"]) == (1, 1, 1)
    bodies, story_rows = _state(eng)
    assert bodies[ids["plain"]] == ("", False)
    for kept in ("saved", "ferry-a", "ferry-b", "recent"):
        assert bodies[ids[kept]] == before[0][ids[kept]], kept
    assert story_rows == before[1]  # centroids, titles and sizes untouched

    again = run_json("prune", "--days", "30")
    assert again["articles"] == 0 and _state(eng) == (bodies, story_rows)

    # The pruned article is still found by its title, no longer by its body.
    hits = {h["article_id"] for h in run_json("search", "quillwort")["items"]}
    assert hits == {ids["saved"], ids["recent"]}
    assert [h["article_id"] for h in run_json("search", "hall roof")["items"]] == [ids["plain"]]


def test_prune_needs_a_period(tidings_env: Path) -> None:
    result = runner.invoke(app, ["prune"])
    assert result.exit_code != 0 and "TIDINGS_RETENTION_DAYS" in result.output


def test_serve_applies_the_retention_in_the_background(
    stocked: tuple[Engine, dict[str, int]], tidings_env: Path
) -> None:
    """`serve`'s scheduler prunes at start and then every TIDINGS_PRUNE_INTERVAL_HOURS."""
    import time

    from tests.live import running
    from tidings.config import get_settings
    from tidings.web.app import create_app

    eng, ids = stocked
    settings = get_settings().model_copy(
        update={"retention_days": 30.0, "background_refresh": True, "subscribe_starter": False}
    )
    with running(create_app(settings)):
        deadline = time.monotonic() + 30
        while _state(eng)[0][ids["plain"]] != ("", False) and time.monotonic() < deadline:
            time.sleep(0.2)
    bodies = _state(eng)[0]
    assert bodies[ids["plain"]] == ("", False)
    assert bodies[ids["saved"]][1] and bodies[ids["saved"]][0]  # saved: kept whole


def test_prune_in_batches_beside_a_concurrent_ingest(tidings_env: Path, tmp_path: Path) -> None:
    """Several batches of old articles are pruned while another thread ingests; neither loses anything."""
    import threading

    from tidings.config import get_settings
    from tidings.pipeline.ingest import ingest_sources
    from tidings.store import open_engine
    from tidings.store.retention import PRUNE_BATCH, prune

    settings = get_settings().model_copy(update={"enrich": False, "fetch_full_text": False})
    eng = open_engine(settings)
    old_count = PRUNE_BATCH * 2 + 7
    with eng.begin() as conn:
        conn.execute(
            insert(articles),
            [
                {
                    "content_hash": f"old-{n}",
                    "title": f"Archive item {n}",
                    "text": f"Old body {n}",
                    "html": f"<p>Old body {n}</p>",
                    "ingested_at": OLD,
                    "sort_time": OLD,
                }
                for n in range(old_count)
            ],
        )
    fresh = tmp_path / "fresh.jsonl"
    fresh.write_text(
        "".join(
            json.dumps(
                {
                    "url": f"https://fresh.example/{n}",
                    "title": f"Fresh item {n} on tide tables",
                    "text": f"Tide table number {n} was published today.",
                }
            )
            + "\n"
            for n in range(40)
        )
    )
    failures: list[BaseException] = []

    def ingest() -> None:
        try:
            ingest_sources([str(fresh)], settings, eng)
        except BaseException as exc:  # reported below: a thread's exception would otherwise vanish
            failures.append(exc)

    thread = threading.Thread(target=ingest)
    thread.start()
    report = prune(eng, 30)
    thread.join(timeout=120)
    assert not failures and not thread.is_alive()
    assert report.articles == old_count and report.batches == 3
    with eng.connect() as conn:
        texts = {r.title: r.text for r in conn.execute(select(articles.c.title, articles.c.text))}
    assert all(texts[f"Archive item {n}"] == "" for n in range(old_count))
    assert sum(1 for title, body in texts.items() if title.startswith("Fresh item") and body) == 40
    assert prune(eng, 30).articles == 0


def test_the_task_queue_prunes_on_the_hours_its_interval_marks(
    stocked: tuple[Engine, dict[str, int]],
) -> None:
    """Workers run the prune task hourly; it prunes only every TIDINGS_PRUNE_INTERVAL_HOURS whole hours."""
    from tidings.config import Settings
    from tidings.tasks.jobs import prune_if_due

    eng, ids = stocked
    every_six = Settings(retention_days=30, prune_interval_hours=6)
    marked = 6 * 3600 * 100_000  # a whole multiple of six hours since the epoch
    assert prune_if_due(eng, every_six, marked + 3600) == 0
    assert _state(eng)[0][ids["plain"]][1]  # not pruned on an hour the interval does not mark
    assert prune_if_due(eng, Settings(retention_days=0, prune_interval_hours=6), marked) == 0
    assert prune_if_due(eng, every_six, marked) == 1
    assert _state(eng)[0][ids["plain"]] == ("", False)
