"""Stand-in enrichment for browser tests (the real one needs models): key points, entities, a shared story."""

from __future__ import annotations

from sqlalchemy import select, update

from tidings.config import Settings
from tidings.models import Enrichment, Entity
from tidings.store import open_engine
from tidings.store.articles import save_enrichment
from tidings.store.stories import next_revision
from tidings.store.tables import articles, stories

# Written for these tests; they summarise our own seed articles (and the seed page's gist) in our words.
HAND_ENRICHMENT = {
    "North Korea": Enrichment(
        topics=["North Korea", "Diplomacy"],
        key_points=[
            "The US president thanked Russia and China for helping with talks on North Korea.",
            "It came a day after Kim Jong-un met Vladimir Putin in Vladivostok.",
        ],
        entities=[
            Entity("person:kim-jong-un", "Kim Jong-un", "PERSON", 5),
            Entity("person:vladimir-putin", "Vladimir Putin", "PERSON", 4),
            Entity("gpe:vladivostok", "Vladivostok", "GPE", 1),
        ],
    ),
    "Night ferry returns": Enrichment(
        topics=["Transport"],
        key_points=["The island's night ferry sailed again after a three-month pause."],
        entities=[Entity("loc:the-island", "The Island", "LOC", 2)],
    ),
    "Island ferry back": Enrichment(
        topics=["Transport"],
        key_points=["Crossings restarted on Friday and the first sailing left on time."],
        entities=[Entity("loc:the-island", "The Island", "LOC", 1)],
    ),
}


def enrich_by_hand(settings: Settings) -> None:
    """Store the hand-written enrichments and put the two ferry reports into one story."""
    engine = open_engine(settings)
    with engine.begin() as conn:
        rows = conn.execute(select(articles.c.id, articles.c.title, articles.c.story_id)).all()
        ferry: list[tuple[int, int]] = []
        for article_id, title, story_id in rows:
            for needle, enrichment in HAND_ENRICHMENT.items():
                if needle in title:
                    save_enrichment(conn, article_id, enrichment, None)
                    if "ferry" in needle:
                        ferry.append((article_id, story_id))
        if len(ferry) == 2:
            (_, keep), (moved, old) = sorted(ferry)
            conn.execute(update(articles).where(articles.c.id == moved).values(story_id=keep))
            conn.execute(
                update(stories)
                .where(stories.c.id == keep)
                .values(size=2, source_count=2, revision=next_revision(conn))
            )
            conn.execute(
                update(stories).where(stories.c.id == old).values(size=0, revision=next_revision(conn))
            )
    engine.dispose()
