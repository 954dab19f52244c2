"""Fast tests of mention cleaning, resolution and keys (no model needed)."""

from __future__ import annotations

from tidings.enrich.entities import clean_mention, count_in_tail, entity_key, resolve_mentions, to_entities


def test_entity_key_is_stable_and_shares_place_prefix() -> None:
    assert entity_key("Kim Jong-un", "PERSON") == "person:kim-jong-un"
    assert entity_key("Pyongyang", "GPE") == entity_key("Pyongyang", "LOC") == "place:pyongyang"
    assert entity_key("Zoë Ångström", "PERSON") == "person:zoe-angstrom"


def test_clean_mention_strips_possessive_the_and_titles() -> None:
    assert clean_mention("Putin’s") == "Putin"
    assert clean_mention("the United States") == "United States"
    assert clean_mention("Prime Minister Tony Blair") == "Tony Blair"
    assert clean_mention("Mr  Brown's") == "Brown"


def test_short_person_mentions_resolve_to_the_full_name() -> None:
    mentions = [
        ("Vladimir Putin", "PERSON", 0),
        ("Kim Jong-un", "PERSON", 10),
        ("Kim", "PERSON", 20),
        ("Putin", "PERSON", 30),
        ("Kim Il-sung", "PERSON", 40),
        ("Kim", "PERSON", 50),
        ("U.S.", "GPE", 60),
        ("America", "GPE", 70),
        ("Pyongyang", "PERSON", 80),
        ("42", "CARDINAL", 90),
        ("X", "ORG", 95),
    ]
    by_name = {e.name: e for e in to_entities(resolve_mentions(mentions))}
    assert by_name["Kim Jong-un"].count == 3
    assert by_name["Vladimir Putin"].count == 2
    assert by_name["Kim Il-sung"].count == 1
    assert by_name["United States"].count == 2
    assert by_name["Pyongyang"].type == "GPE"
    assert set(by_name) == {"Kim Jong-un", "Vladimir Putin", "Kim Il-sung", "United States", "Pyongyang"}


def test_tail_counting_prefers_the_longest_surface() -> None:
    clusters = resolve_mentions([("North Korea", "GPE", 0), ("Korea", "GPE", 5)])
    count_in_tail(clusters, "North Korea said Korea would talk. north korea again.")
    counts = {c.name: c.count for c in clusters}
    assert counts == {"North Korea": 3, "Korea": 2}
