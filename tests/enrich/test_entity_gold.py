"""Entity chips against a gold set annotated for Tidings (50 articles of the demo corpus and feeds)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from tests.conftest import shared_path
from tests.enrich.entity_gold import chip_names, gold_entities, load_gold, score, with_aliases
from tidings.config import Settings
from tidings.enrich import entities

PRECISION_FLOOR = 0.95


def test_scoring_counts_alternative_names_once() -> None:
    rows: list[dict[str, object]] = [{"url": "u", "chips": ["ICC|International Criminal Court", "Sudan"]}]
    result = score(rows, {"u": ["ICC", "International Criminal Court", "Mais"]})
    assert (result.shown, result.correct, result.gold, result.found) == (3, 2, 2, 1)


@pytest.mark.shared
@pytest.mark.slow
def test_entity_chip_precision_on_the_gold_set() -> None:
    """Chips shown for the 50 gold articles, before and after cross-document aliases: precision at or above
    the floor; recall is reported."""
    shared = shared_path("data").parent
    rows = load_gold()
    assert len(rows) == 50
    found = gold_entities(shared, rows, Settings())
    for label, chips in (("in-document", found), ("with cross-document aliases", with_aliases(found))):
        result = score(rows, chip_names(chips))
        print(
            f"entity chips {label}: precision {result.precision:.3f}, recall {result.recall:.3f} "
            f"({result.shown} shown)"
        )
        assert result.shown >= 100
        assert result.precision >= PRECISION_FLOOR


@pytest.mark.shared
def test_seed_article_shows_at_most_eight_clean_chips(seed_path: Path) -> None:
    """The North Korea seed: its main people and places, no fragments ("North", "State"), human labels."""
    from tidings.extract import extract_text
    from tidings.models import entity_chips, entity_type_label

    article = extract_text(seed_path.read_text(encoding="utf-8"), None)
    texts = [entities.ner_text(article.title, article.standfirst, article.text)]
    [found] = entities.extract_entities_batch(texts, Settings())
    chips = entity_chips([asdict(e) for e in found])
    names = [c["name"] for c in chips]
    assert 3 <= len(chips) <= 8
    assert {"Kim Jong-un", "Vladimir Putin", "Donald Trump", "North Korea"} <= set(names)
    assert not {"North", "State", "KCNA"} & set(names)
    assert {entity_type_label(c["type"]) for c in chips} <= {"Person", "Place", "Organisation"}


def test_markup_fragments_and_platforms_are_cleaned() -> None:
    mentions = [
        ('style="background:#CC0000', "GPE", 0),
        ("North", "LOC", 40),
        ("State", "ORG", 50),
        ("Twitter", "PERSON", 60),
        ("Georgian", "GPE", 70),
        ("North and South Korea", "GPE", 80),
        ("Trinidad and Tobago", "GPE", 110),
        ("Malawi", "PERSON", 140),
    ]
    found = {(c.name, c.type) for c in entities.resolve_mentions(mentions)}
    assert found == {
        ("Twitter", "ORG"),
        ("Georgian", "NORP"),
        ("Trinidad and Tobago", "GPE"),
        ("Malawi", "GPE"),
    }
