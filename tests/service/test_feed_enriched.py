"""Feedback that needs real enrichment (embeddings and entities): "fewer" and entity mutes."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from tests.conftest import shared_path
from tidings.config import Settings
from tidings.service.feed import feed_for, record_event
from tidings.service.users import add_user, change_target
from tidings.store.tables import article_entities

pytestmark = [pytest.mark.shared, pytest.mark.slow]
_NAMES = (f"enriched{i}" for i in itertools.count())


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, Settings]:
    """Twenty BBC articles from each of the five sections, enriched for real."""
    from tidings.pipeline.ingest import ingest_sources
    from tidings.store import open_engine

    bbc = shared_path("data", "bbc-news")
    root = tmp_path_factory.mktemp("bbc-sample")
    for section in ("business", "entertainment", "politics", "sport", "tech"):
        (root / section).mkdir()
        for path in sorted((bbc / section).glob("*.txt"))[:20]:
            shutil.copyfile(path, root / section / path.name)
    home = tmp_path_factory.mktemp("bbc-home")  # outside the ingested folder
    settings = Settings(home=home, subscribe_starter=False, background_refresh=False)
    engine = open_engine(settings)
    report = ingest_sources([str(root)], settings, engine)
    assert report.count("new") >= 90
    return engine, settings


def test_fewer_lowers_similar_articles_on_the_next_request(store: tuple[Engine, Settings]) -> None:
    engine, settings = store
    name = next(_NAMES)
    add_user(engine, name, None)
    before, _ = feed_for(engine, settings, name, limit=50)
    target = before["items"][0]
    record_event(engine, settings, name, target["article_id"], "fewer")
    after, _ = feed_for(engine, settings, name, limit=50)
    old = {i["article_id"]: i["score"] for i in before["items"]}
    new = {i["article_id"]: i["score"] for i in after["items"]}
    lowered = [
        aid for aid in old if aid in new and aid != target["article_id"] and new[aid] < old[aid] - 1e-9
    ]
    assert lowered, "no article scored lower after 'fewer'"
    negative = [r for i in after["items"] for r in i["reasons"] if r["signal"] == "negative"]
    assert negative and all(r["contribution"] < 0 for r in negative)


def test_muted_entity_never_appears(store: tuple[Engine, Settings]) -> None:
    engine, settings = store
    name = next(_NAMES)
    add_user(engine, name, None)
    with engine.connect() as conn:
        entity, _carrier = conn.execute(
            select(article_entities.c.name, article_entities.c.article_id).where(
                article_entities.c.type == "PERSON"
            )
        ).first() or (None, None)
        assert entity is not None
        holders = {
            r[0]
            for r in conn.execute(
                select(article_entities.c.article_id).where(article_entities.c.name == entity)
            )
        }
    change_target(engine, name, "mute", f"entity:{entity}")
    data, _ = feed_for(engine, settings, name, limit=100)
    assert not holders & {i["article_id"] for i in data["items"]}
    assert any(entity in h["rule"] for h in data["hidden"]), data["hidden"][:5]


def test_follow_entity_brings_its_articles_up(store: tuple[Engine, Settings], tmp_path: Path) -> None:
    engine, settings = store
    name = next(_NAMES)
    add_user(engine, name, None)
    with engine.connect() as conn:
        entity = conn.execute(
            select(article_entities.c.name)
            .where(article_entities.c.type == "PERSON")
            .order_by(article_entities.c.count.desc())
        ).scalar()
    change_target(engine, name, "follow", f"entity:{entity}")
    data, _ = feed_for(engine, settings, name, limit=10)
    assert any(r["signal"] == "follow_entity" for r in data["items"][0]["reasons"])


def test_related_puts_the_same_story_first_then_neighbours(store: tuple[Engine, Settings]) -> None:
    from tidings.service.stories import related_items
    from tidings.store.tables import articles

    engine, _ = store
    with engine.connect() as conn:
        article_id = conn.execute(select(articles.c.id).order_by(articles.c.id)).scalars().first()
        items = related_items(conn, int(article_id), limit=8)
    assert items and len(items) <= 8
    assert article_id not in [i["article_id"] for i in items]
    flags = [i["same_story"] for i in items]
    assert flags == sorted(flags, reverse=True)  # same-story articles come first
    neighbours = [i["score"] for i in items if not i["same_story"]]
    assert neighbours == sorted(neighbours, reverse=True)
