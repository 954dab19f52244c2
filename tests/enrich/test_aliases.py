"""Cross-document entity aliases: pure rules, and the store lookup on a real SQLite file."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select, text

from tidings.enrich import aliases
from tidings.enrich.aliases import KnownName, abbreviates, resolve_aliases
from tidings.enrich.entities import entity_key
from tidings.models import Enrichment, Entity
from tidings.pipeline.aliases import realias_stored, resolve_enrichment
from tidings.store import articles as article_repo
from tidings.store.engine import make_engine, migrate
from tidings.store.tables import article_entities
from tidings.store.util import utcnow


def ent(name: str, type: str = "PERSON", count: int = 1, salient: bool = False) -> Entity:
    return Entity(key=entity_key(name, type), name=name, type=type, count=count, salient=salient)


def known(name: str, articles: int, type: str = "PERSON") -> KnownName:
    return KnownName(entity_key(name, type), name, type, articles)


def test_surname_resolves_to_the_full_name_in_the_same_article_first() -> None:
    found = [ent("Marta Olsen", count=2), ent("Olsen", count=3, salient=True)]
    resolved, renames = resolve_aliases(found, [known("Erik Olsen", 40)])
    assert [(e.name, e.count, e.salient) for e in resolved] == [("Marta Olsen", 5, True)]
    assert renames == {"Olsen": "Marta Olsen"}


def test_surname_resolves_to_the_stores_clear_majority() -> None:
    resolved, _ = resolve_aliases(
        [ent("Okafor", count=4)], [known("Grace Okafor", 9), known("Paul Okafor", 2)]
    )
    assert [(e.key, e.name, e.count) for e in resolved] == [("person:grace-okafor", "Grace Okafor", 4)]


def test_surname_stays_when_the_store_has_no_clear_majority_or_too_little() -> None:
    split = [known("Grace Okafor", 5), known("Paul Okafor", 4)]
    assert resolve_aliases([ent("Okafor")], split)[0][0].name == "Okafor"
    assert resolve_aliases([ent("Okafor")], [known("Grace Okafor", 1)])[0][0].name == "Okafor"
    assert resolve_aliases([ent("Okafor")], [known("Okafor Street", 9, "GPE")])[0][0].name == "Okafor"


def test_surname_is_matched_as_a_whole_word() -> None:
    # "Lin" is not "Lindqvist", even though the store's LIKE probe finds it.
    assert resolve_aliases([ent("Lin")], [known("Anna Lindqvist", 12)])[0][0].name == "Lin"


def test_abbreviated_places_resolve_to_the_place_they_shorten() -> None:
    assert abbreviates("N Korea", "North Korea")
    assert abbreviates("S. Africa", "South Africa")
    assert not abbreviates("N Korea", "South Korea")
    assert not abbreviates("North Korea", "North Korea")
    found = [ent("N Korea", "GPE", count=2), ent("North Korea", "GPE", count=3)]
    resolved, _ = resolve_aliases(found, [])
    assert [(e.name, e.count) for e in resolved] == [("North Korea", 5)]
    # With no full form in the article, the country list supplies it.
    assert resolve_aliases([ent("S. Korea", "GPE")], [])[0][0].name == "South Korea"


def test_topics_follow_the_renames_without_duplicates() -> None:
    assert aliases.rename_topics(["Politics", "Okafor", "Grace Okafor"], {"Okafor": "Grace Okafor"}) == [
        "Politics",
        "Grace Okafor",
    ]


def _article(conn: object, n: int) -> int:
    values = {
        "content_hash": f"h{n}",
        "title": f"Article {n}",
        "ingested_at": utcnow(),
        "sort_time": utcnow(),
        "url": f"https://example.test/{n}",
        "canonical_url": f"https://example.test/{n}",
        "source": "Example",
    }
    return article_repo.insert_article(conn, values)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty store of each kind."""
    pg_url = os.environ.get("TIDINGS_TEST_POSTGRES_URL", "")
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
        migrate(eng)
        yield eng
        eng.dispose()
        return
    if not pg_url:
        pytest.skip("TIDINGS_TEST_POSTGRES_URL is not set")
    name = f"tidings_alias_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng = make_engine(pg_url.rsplit("/", 1)[0] + f"/{name}")
    migrate(eng)
    yield eng
    eng.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_store_lookup_resolves_and_a_later_pass_catches_up(engine: Engine) -> None:
    with engine.begin() as conn:
        first = _article(conn, 0)
        # Stored before the store knows any full name: stays "Okafor".
        early = resolve_enrichment(conn, Enrichment(entities=[ent("Okafor", count=2)], topics=["Okafor"]))
        article_repo.save_enrichment(conn, first, early, None)
        for n in (1, 2, 3):
            full = Enrichment(entities=[ent("Grace Okafor", count=3)], topics=["Grace Okafor"])
            article_repo.save_enrichment(conn, _article(conn, n), full, None)
        late = resolve_enrichment(conn, Enrichment(entities=[ent("Okafor", count=2)], topics=["Okafor"]))
        article_repo.save_enrichment(conn, _article(conn, 4), late, None)
    assert early.entities[0].name == "Okafor"
    assert [e.key for e in late.entities] == ["person:grace-okafor"] and late.topics == ["Grace Okafor"]
    assert realias_stored(engine) == 1
    with engine.connect() as conn:
        keys = conn.execute(
            select(article_entities.c.entity_key).where(article_entities.c.article_id == first)
        )
        assert list(keys.scalars()) == ["person:grace-okafor"]
        row = article_repo.get_article(conn, first)
    assert row is not None and row["topics"] == ["Grace Okafor"]
    assert realias_stored(engine) == 0  # nothing left to resolve


def test_titles_and_fixed_aliases_reach_the_same_keys() -> None:
    from tidings.enrich.entities import canonicalise, clean_mention

    for mention in ("Mr Okafor", "Mrs. Okafor", "Sen. Okafor", "President Okafor", "Dr Okafor's"):
        assert clean_mention(mention) == "Okafor"
    for mention in ("the US", "U.S.", "US"):
        assert canonicalise(clean_mention(mention), "GPE") == ("United States", "GPE")


def test_a_surname_match_comes_before_a_first_name_match() -> None:
    store = [known("Ines Varga", 9), known("Varga Tamas", 2)]
    assert resolve_aliases([ent("Varga")], store)[0][0].name == "Ines Varga"
    assert resolve_aliases([ent("Tamas")], store)[0][0].name == "Varga Tamas"
    # A common first name is nobody's surname alone: "James" beside James Kelly and James Joyce stays.
    common = [known("Carole James", 3), known("James Kelly", 2), known("James Joyce", 2)]
    assert resolve_aliases([ent("James")], common)[0][0].name == "James"


def test_a_surname_takes_the_full_name_the_text_writes_out_where_the_tagger_missed_it() -> None:
    from tidings.enrich.entities import _Cluster, complete_surnames

    text = (
        "Critics recalled the Mirela Dunst affair of last year. President Dunst was not involved. "
        "Dunst resigned soon after. The Dunst family declined to comment."
    )
    missed = _Cluster("Dunst", "PERSON", 0, 2, {"Dunst"})
    complete_surnames([missed], text)
    assert missed.name == "Mirela Dunst"
    # Two first names before the surname: the text does not say which one is meant.
    two = _Cluster("Dunst", "PERSON", 0, 2, {"Dunst"})
    complete_surnames([two], text + " Her cousin Petra Dunst spoke.")
    assert two.name == "Dunst"
    # Titles, common words and sentence starts are no first names.
    alone = _Cluster("Dunst", "PERSON", 0, 2, {"Dunst"})
    complete_surnames([alone], "President Dunst spoke. The Dunst government fell. Yesterday Dunst left.")
    assert alone.name == "Dunst"
