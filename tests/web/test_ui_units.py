"""Small pure pieces of the web UI: redirects, CSRF tokens, relative times, chart geometry, search filters."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tidings.config import Settings
from tidings.store import open_engine
from tidings.store.stories import read_story
from tidings.store.util import utcnow
from tidings.web.charts import bar_chart, shares
from tidings.web.csrf import derive_token
from tidings.web.pages_common import safe_next, time_ago


def test_safe_next_keeps_only_local_paths() -> None:
    assert safe_next("/for-you?page=2") == "/for-you?page=2"
    for bad in (
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "",
        None,
        "javascript:alert(1)",
    ):
        assert safe_next(bad) == "/"


def test_csrf_tokens_differ_per_session_and_hide_the_secret() -> None:
    key = b"k" * 32
    first, second = derive_token("session-one", key), derive_token("session-two", key)
    assert first != second and len(first) == 64 and "session" not in first
    assert derive_token("session-one", key) == first
    assert derive_token("session-one", b"another server key") != first  # keyed by TIDINGS_SECRET_KEY


def test_time_ago() -> None:
    now = utcnow()
    assert time_ago(now) == "just now"
    assert time_ago(now - timedelta(minutes=5)) == "5 min ago"
    assert time_ago(now - timedelta(hours=3)) == "3 h ago"
    assert time_ago(datetime(2019, 5, 8, tzinfo=UTC)) == "08 May 2019"
    assert time_ago(None) == ""


def test_shares_fold_the_tail_into_other() -> None:
    result = shares(Counter({"a": 5, "b": 3, "c": 1, "d": 1}), top=2)
    assert [r["name"] for r in result] == ["a", "b", "Other"]
    assert abs(sum(r["share"] for r in result) - 1.0) < 1e-9
    assert shares(Counter(), top=3) == []


def test_bar_chart_scales_to_the_largest_share() -> None:
    chart = bar_chart(
        [{"name": "World", "count": 6, "share": 0.6}, {"name": "Sport", "count": 4, "share": 0.4}]
    )
    first, second = chart.bars
    assert first.width == chart.bar_max and abs(second.width - chart.bar_max * 4 / 6) < 0.1
    assert first.percent == "60%" and second.y > first.y and chart.height > second.y
    assert bar_chart([]).bars == []


def test_story_reads_report_new_articles(tmp_path: Path) -> None:
    from tidings.service.users import add_user
    from tidings.store.stories import insert_story

    engine = open_engine(Settings(home=tmp_path, enrich=False))
    user_id = int(add_user(engine, "nina", None)["id"])
    with engine.begin() as conn:
        story_id = insert_story(conn)
        assert read_story(conn, user_id, story_id, [1, 2]) is None
        assert read_story(conn, user_id, story_id, [1, 2, 3]) == {1, 2}
        assert read_story(conn, user_id, story_id, [1, 2, 3]) == {1, 2, 3}


def test_reach_of_names_the_oldest_day_only_when_widened() -> None:
    from tidings.rank import FeedResult
    from tidings.web.pages_feed import reach_of

    now = utcnow()
    assert reach_of(FeedResult(items=[], window_hours=72.0, as_of=now), 72.0) is None
    expected = (now - timedelta(days=400)).strftime("%d %B %Y").lstrip("0")
    assert reach_of(FeedResult(items=[], window_hours=24.0 * 400, as_of=now), 72.0) == expected
