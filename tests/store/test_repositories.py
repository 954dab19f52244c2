"""The article, story and user repositories' reads that the pipeline and services rely on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert

from tidings.config import Settings
from tidings.store import articles as article_repo
from tidings.store import open_engine
from tidings.store import stories as story_repo
from tidings.store import users as user_repo
from tidings.store.tables import article_entities

NOW = datetime(2024, 4, 1, 12, 0, tzinfo=UTC)


def _engine(tmp_path: Path) -> Engine:
    return open_engine(Settings(home=tmp_path, enrich=False))


def _article(conn: Connection, n: int, **values: Any) -> int:
    row = {"content_hash": f"hash-{n}", "title": f"Article {n}", "ingested_at": NOW, "sort_time": NOW}
    return article_repo.insert_article(conn, {**row, **values})


def test_teasers_due_in_waiting_order_with_tries_left(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    with engine.begin() as conn:
        later = _article(conn, 1, is_teaser=True, fulltext_next_try=NOW - timedelta(minutes=1))
        earlier = _article(conn, 2, is_teaser=True, fulltext_next_try=NOW - timedelta(hours=1))
        _article(conn, 3, is_teaser=True, fulltext_next_try=NOW + timedelta(hours=1))  # not yet
        _article(conn, 4, is_teaser=True, fulltext_next_try=NOW, fulltext_attempts=6)  # out of tries
        _article(conn, 5, is_teaser=False, fulltext_next_try=NOW)
    with engine.connect() as conn:
        due = article_repo.teasers_due(conn, NOW, max_attempts=6, limit=10)
        assert [r["id"] for r in due] == [earlier, later]
        assert set(due[0]) == {"id", "url", "fulltext_attempts"}
        assert [r["id"] for r in article_repo.teasers_due(conn, NOW, max_attempts=6, limit=1)] == [earlier]
        assert article_repo.count_teasers_pending(conn, max_attempts=6) == 3


def test_entity_counts_span_chunks_and_articles_after(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    with engine.begin() as conn:
        first, second = _article(conn, 1), _article(conn, 2, fingerprint=b"\x01\x02")
        conn.execute(
            insert(article_entities),
            [
                {"article_id": first, "entity_key": "org:acme", "name": "Acme", "type": "ORG", "count": 2},
                {"article_id": second, "entity_key": "gpe:oslo", "name": "Oslo", "type": "GPE", "count": 1},
            ],
        )
    ids = [first, *range(1000, 1600), second]  # the two real ids fall in different chunks of 500
    with engine.connect() as conn:
        assert article_repo.entity_counts(conn, ids) == {first: {"org:acme": 2}, second: {"gpe:oslo": 1}}
        assert article_repo.articles_after(conn, first) == [(second, b"\x01\x02", None)]
        assert article_repo.enrichment_versions(conn) == [(first, None), (second, None)]


def test_story_members_move_and_titles(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    with engine.begin() as conn:
        story = story_repo.insert_story(conn)
        ids = [_article(conn, n, story_id=story) for n in (1, 2, 3)]
        other = story_repo.insert_story(conn)
        story_repo.move_articles(conn, ids[1:], other)
    with engine.connect() as conn:
        assert story_repo.member_ids(conn, story) == ids[:1]
        assert story_repo.member_ids(conn, other) == ids[1:]
        assert article_repo.story_of(conn, ids[2]) == other
        assert article_repo.titles_of(conn, ids[:2]) == {ids[0]: "Article 1", ids[1]: "Article 2"}
        assert article_repo.story_and_time(conn, 9999) is None


def test_logged_impressions_and_engagements(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    with engine.begin() as conn:
        user = user_repo.create_user(conn, "reader", None, False)
        article = _article(conn, 1)
        user_repo.record_event(conn, user, article, None, "impression", None, {"topic": 0.5}, at=NOW)
        user_repo.record_event(conn, user, article, None, "impression", None, None, at=NOW)  # no features
        user_repo.record_event(conn, user, article, None, "click", None, at=NOW + timedelta(minutes=1))
        user_repo.record_event(conn, user, article, None, "hide", None, at=NOW)
    with engine.connect() as conn:
        shown = user_repo.logged_impressions(conn)
        assert [(u, a, f) for u, a, f, _ in shown] == [(user, article, {"topic": 0.5})]
        engaged = user_repo.engagements(conn, ("click", "read"))
        assert [(u, a) for u, a, _ in engaged] == [(user, article)]


def test_feed_reads_of_targets_and_state_in_one_query_each(tmp_path: Path) -> None:
    """follows_and_mutes and read_and_hidden give what list_targets and ids_with give, one query each."""
    from sqlalchemy import event

    from tidings.store import reading as state_repo

    engine = _engine(tmp_path)
    with engine.begin() as conn:
        me = user_repo.create_user(conn, "me", "hash")
        other = user_repo.create_user(conn, "other", "hash")
        a, b, c = _article(conn, 1), _article(conn, 2), _article(conn, 3)
        user_repo.add_target(conn, me, "follow", "topic", "Sport")
        user_repo.add_target(conn, me, "follow", "source", "example.org")
        user_repo.add_target(conn, me, "mute", "keyword", "crypto")
        user_repo.add_target(conn, other, "mute", "topic", "Weather")
        state_repo.set_state(conn, me, [a, b], "read", True, at=NOW)
        state_repo.set_state(conn, me, [b, c], "hidden", True, at=NOW)
        state_repo.set_state(conn, me, [a], "read", False, at=NOW)  # a row that is neither read nor hidden
        state_repo.set_state(conn, other, [a], "read", True, at=NOW)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with engine.connect() as conn:
        targets = user_repo.follows_and_mutes(conn, me)
        read, hidden = state_repo.read_and_hidden(conn, me)
        assert [q.split()[0] for q in statements if not q.startswith("BEGIN")] == ["SELECT", "SELECT"]
        assert targets == {
            "follow": [(t["kind"], t["value"]) for t in user_repo.list_targets(conn, me, "follow")],
            "mute": [(t["kind"], t["value"]) for t in user_repo.list_targets(conn, me, "mute")],
        }
        assert targets["follow"] == [("topic", "Sport"), ("source", "example.org")]
        assert read == state_repo.ids_with(conn, me, "read") == {b: NOW}
        assert hidden == set(state_repo.ids_with(conn, me, "hidden")) == {b, c}


def test_set_state_writes_each_chunk_in_one_statement(tmp_path: Path) -> None:
    """set_state reports the ids whose value changed, in the order given, touching only its own flag: one
    statement per chunk, where a read then a write took two, and a default on a missing row writes nothing."""
    from sqlalchemy import event, select

    from tidings.store import reading as state_repo
    from tidings.store.tables import read_state
    from tidings.store.util import as_utc

    engine = _engine(tmp_path)
    with engine.begin() as conn:
        me = user_repo.create_user(conn, "me", "hash")
        other = user_repo.create_user(conn, "other", "hash")
        a, b, c = _article(conn, 1), _article(conn, 2), _article(conn, 3)
        state_repo.set_state(conn, me, [b], "saved", True, at=NOW)
        state_repo.set_state(conn, other, [a, b, c], "read", True, at=NOW)
    later = NOW + timedelta(hours=1)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with engine.begin() as conn:
        assert state_repo.set_state(conn, me, [c, b, a, c], "read", True, at=later) == [c, b, a]
        assert state_repo.set_state(conn, me, [a, b], "read", True, at=NOW) == []  # already read
        assert state_repo.set_state(conn, me, [b, c], "liked", 0) == []  # a missing or neutral row stays
        assert state_repo.set_state(conn, me, [c, a], "read", False, at=later) == [c, a]
    writes = [q.split()[0] for q in statements if not q.startswith(("BEGIN", "COMMIT"))]
    assert writes == ["INSERT", "INSERT", "UPDATE", "UPDATE"], writes
    with engine.connect() as conn:
        rows = {
            (r.user_id, r.article_id): (r.is_read, as_utc(r.read_at), r.is_starred, as_utc(r.starred_at))
            for r in conn.execute(select(read_state))
        }
    assert len(rows) == 6  # no row was added for the neutral "liked"
    assert rows[(me, b)] == (True, later, True, NOW)  # read now, and "saved" left as it was
    assert rows[(me, a)][:2] == (False, later) and rows[(me, a)][2] is False
    assert [rows[(me, x)][0] for x in (a, c)] == [False, False]
    assert all(rows[(other, x)][0] is True for x in (a, b, c))  # another reader's rows are untouched
