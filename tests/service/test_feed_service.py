"""The personalised feed over a real store: follows, hides, mutes, caps and exact explanations."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from tests.conftest import shared_path
from tidings.config import Settings
from tidings.service.feed import feed_for, record_event
from tidings.service.users import add_user, change_target
from tidings.store.tables import articles

_NAMES = (f"reader{i}" for i in itertools.count())


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, Settings]:
    """The demo corpus and the seed article, ingested once (without enrichment, for speed)."""
    from tidings.pipeline.ingest import ingest_sources
    from tidings.store import open_engine

    corpus = shared_path("data", "demo-corpus")
    feeds = shared_path("data", "feeds-2019-2023")
    seed = shared_path("fixtures", "seed-article-scraped.txt")
    home = tmp_path_factory.mktemp("feed-home")
    settings = Settings(home=home, enrich=False, subscribe_starter=False, background_refresh=False)
    engine = open_engine(settings)
    report = ingest_sources([str(corpus), str(feeds), str(seed)], settings, engine)
    assert report.count("new") > 600
    return engine, settings


def new_reader(engine: Engine) -> str:
    """A fresh user name."""
    name = next(_NAMES)
    add_user(engine, name, None)
    return name


def seed_id(engine: Engine) -> int:
    """The id of the seed article."""
    with engine.connect() as conn:
        return int(
            conn.execute(select(articles.c.id).where(articles.c.title.like("%Trump welcomes%"))).scalar_one()
        )


def sources_of(engine: Engine, ids: list[int]) -> dict[int, str]:
    """Article id -> source."""
    with engine.connect() as conn:
        return dict(
            conn.execute(select(articles.c.id, articles.c.source).where(articles.c.id.in_(ids))).all()
        )


pytestmark = pytest.mark.shared


def test_follow_topic_puts_seed_in_top_three(store: tuple[Engine, Settings]) -> None:
    engine, settings = store
    name = new_reader(engine)
    change_target(engine, name, "follow", "topic:North Korea")
    data, _ = feed_for(engine, settings, name, limit=20)
    top = [item["article_id"] for item in data["items"][:3]]
    assert seed_id(engine) in top
    first = next(i for i in data["items"] if i["article_id"] == seed_id(engine))
    assert any(r["detail"] == "You follow North Korea" for r in first["reasons"])


def test_scores_are_exact_sums_of_reasons(store: tuple[Engine, Settings]) -> None:
    engine, settings = store
    name = new_reader(engine)
    for target in ("topic:North Korea", "source:Wikinews"):
        change_target(engine, name, "follow", target)
    data, _ = feed_for(engine, settings, name, limit=50)
    ids = [i["article_id"] for i in data["items"]]
    for article_id in ids[:5]:
        record_event(engine, settings, name, article_id, "read", dwell=40.0)
    for limit in (5, 20, 50):
        data, _ = feed_for(engine, settings, name, limit=limit)
        assert data["items"]
        for item in data["items"]:
            assert abs(sum(r["contribution"] for r in item["reasons"]) - item["score"]) < 1e-6


def test_top_twenty_has_one_card_per_story_and_source_cap(store: tuple[Engine, Settings]) -> None:
    engine, settings = store
    name = new_reader(engine)
    data, _ = feed_for(engine, settings, name, limit=20)
    items = data["items"]
    assert len(items) == 20
    stories = [i["story_id"] for i in items]
    assert len(stories) == len(set(stories))
    per_source = Counter(sources_of(engine, [i["article_id"] for i in items]).values())
    assert max(per_source.values()) <= 6


def test_hide_removes_the_whole_story(store: tuple[Engine, Settings]) -> None:
    engine, settings = store
    name = new_reader(engine)
    change_target(engine, name, "follow", "topic:North Korea")
    data, _ = feed_for(engine, settings, name, limit=20)
    target = data["items"][0]
    record_event(engine, settings, name, target["article_id"], "hide")
    with engine.connect() as conn:
        story_ids = {
            r[0] for r in conn.execute(select(articles.c.id).where(articles.c.story_id == target["story_id"]))
        }
    after, _ = feed_for(engine, settings, name, limit=50)
    assert not story_ids & {i["article_id"] for i in after["items"]}


def test_muted_source_and_keyword_never_appear_and_are_listed(store: tuple[Engine, Settings]) -> None:
    engine, settings = store
    name = new_reader(engine)
    before, _ = feed_for(engine, settings, name, limit=20)
    source = sources_of(engine, [before["items"][0]["article_id"]])[before["items"][0]["article_id"]]
    word = max(before["items"][1]["title"].lower().split(), key=len).strip(".,:;'\"‘’“”?!()")
    change_target(engine, name, "mute", f"source:{source}")
    change_target(engine, name, "mute", f"keyword:{word}")
    data, _ = feed_for(engine, settings, name, limit=50)
    shown = sources_of(engine, [i["article_id"] for i in data["items"]])
    assert source not in shown.values()
    assert all(word not in i["title"].lower() for i in data["items"])
    rules = {h["rule"] for h in data["hidden"]}
    assert any(f"source:{source}" in r for r in rules), rules
    assert any(f"keyword:{word}" in r for r in rules), rules


def test_bad_events_are_refused_and_leave_profile_intact(store: tuple[Engine, Settings]) -> None:
    from tidings.store.users import NotFoundError

    engine, settings = store
    name = new_reader(engine)
    with pytest.raises(ValueError, match="dwell"):
        record_event(engine, settings, name, seed_id(engine), "read", dwell=-5)
    with pytest.raises(ValueError, match="kind"):
        record_event(engine, settings, name, seed_id(engine), "teleport")
    with pytest.raises(NotFoundError):
        record_event(engine, settings, name, 10**9, "click")
    with pytest.raises(NotFoundError):
        record_event(engine, settings, "nobody-here", seed_id(engine), "click")
    data, _ = feed_for(engine, settings, name, limit=5)
    assert data["items"]


def test_event_flood_is_rate_limited(store: tuple[Engine, Settings]) -> None:
    from tidings.service.feed import RateLimitedError

    engine, settings = store
    name = new_reader(engine)
    with pytest.raises(RateLimitedError):
        for _ in range(500):
            record_event(engine, settings, name, seed_id(engine), "impression")


def test_unknown_target_kind_is_refused(store: tuple[Engine, Settings], tmp_path: Path) -> None:
    engine, _ = store
    name = new_reader(engine)
    with pytest.raises(ValueError, match="KIND"):
        change_target(engine, name, "follow", "planet:Mars")


def test_profile_export_and_reset_keep_follows(store: tuple[Engine, Settings]) -> None:
    from tidings.service.feed import export_profile, reset_profile

    engine, settings = store
    name = new_reader(engine)
    change_target(engine, name, "follow", "topic:North Korea")
    record_event(engine, settings, name, seed_id(engine), "like")
    exported = export_profile(engine, name)
    assert exported["profile"]["counts"] == {"like": 1} and exported["follows"] == ["topic:North Korea"]
    reset_profile(engine, name)
    after = export_profile(engine, name)
    assert after["profile"]["counts"] == {} and after["follows"] == ["topic:North Korea"]


def test_a_profile_stored_as_a_json_string_is_read_and_then_stored_as_an_object(
    store: tuple[Engine, Settings],
) -> None:
    # Profiles were once stored as a JSON string inside the JSON column (encoded twice on every event).
    from tidings.rank import Profile
    from tidings.store import users as user_repo

    engine, settings = store
    name = new_reader(engine)
    legacy = Profile(user=name)
    legacy.counts["like"] = 2
    with engine.begin() as conn:
        user_id = user_repo.require_user(conn, name)["id"]
        user_repo.set_user_fields(conn, user_id, {"profile": legacy.to_json()})
    record_event(engine, settings, name, seed_id(engine), "like")
    with engine.connect() as conn:
        stored = user_repo.require_user(conn, name)["profile"]
    assert isinstance(stored, dict) and stored["counts"] == {"like": 3}
    assert Profile.from_dict(stored).counts == {"like": 3}
    with pytest.raises(ValueError, match="malformed profile"):
        Profile.from_dict({"version": 1})
