"""IPTC second levels: keys in the one vocabulary, confident selection, parents carried along, follows."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.rank.factory import NOW, make_candidates
from tidings.config import Settings
from tidings.enrich import topics
from tidings.enrich.iptc_level2_examples import IPTC_LEVEL2_EXAMPLES
from tidings.models import Entity
from tidings.rank import Profile, UserControls, build_feed
from tidings.store.users import parse_target
from tidings.vocabulary import IPTC_SUBTOPICS, IPTC_TOPICS, parent_topic, split_tags, topic_key, with_parents


def test_second_levels_have_one_key_each_under_a_real_top_level() -> None:
    assert set(IPTC_LEVEL2_EXAMPLES) == set(IPTC_SUBTOPICS)
    assert set(IPTC_SUBTOPICS.values()) <= set(IPTC_TOPICS)
    assert all(topic_key(key) == key for key in IPTC_SUBTOPICS)
    assert topic_key("election") == topic_key("ELECTIONS") == topic_key("politics > election")
    assert topic_key("Climate change") == "Environment > Climate change"
    # A name that already means a whole top level keeps meaning it.
    assert topic_key("crime") == "Crime and law" and topic_key("Economy") == "Business"
    assert parse_target("topic:politics > election") == ("topic", "Politics > Election")


def test_tags_and_topics_carry_the_parent_before_the_child() -> None:
    assert with_parents(["Politics > Election", "Sport"]) == ["Politics", "Politics > Election", "Sport"]
    assert split_tags(["Climate Change", "Weblog"]) == (
        ["Environment", "Environment > Climate change"],
        ["Weblog"],
    )
    entity = Entity(key="place:chile", name="Chile", type="GPE", count=3)
    built = topics.build_topics(["Politics > Election", "Politics"], ["Elections"], [entity], "Vote in Chile")
    assert built == ["Politics", "Politics > Election", "Chile"]


def test_a_second_level_is_chosen_only_when_confident_and_under_a_chosen_parent() -> None:
    probs = {
        "Politics > Election": 0.5,
        "Politics > Government": 0.1,
        "Politics > International relations": 0.05,
    }
    probs |= {"Sport > Sport event": 0.3, "Sport > Sport transaction": 0.05}
    assert topics.select_level2(probs, ["Politics"]) == ["Politics > Election"]  # 0.5 / 0.65 = 0.77
    assert topics.select_level2(probs, ["Sport"]) == ["Sport > Sport event"]
    assert topics.select_level2(probs, ["Religion"]) == []  # no second levels there
    unsure = {
        "Politics > Election": 0.3,
        "Politics > Government": 0.25,
        "Politics > International relations": 0.2,
    }
    assert topics.select_level2(unsure, ["Politics"]) == []


def test_following_a_top_level_matches_its_children_and_a_child_only_itself() -> None:
    cands = make_candidates()
    for c in cands:
        if "politics" in c.topics:
            c.topics[:] = ["Politics", "Politics > Election"] if c.article_id % 2 else ["Politics"]
    children = {str(c.article_id) for c in cands if "Politics > Election" in c.topics}
    parent = build_feed(Profile(), UserControls(follows=[("topic", "politics")]), cands, NOW)
    hits = [i for i in parent.items if any(r.signal == "follow_topic" for r in i.reasons)]
    assert {str(i.article_id) for i in hits} & children
    child = build_feed(
        Profile(), UserControls(follows=[("topic", "election")]), [replace(c) for c in cands], NOW
    )
    hits = [i for i in child.items if any(r.signal == "follow_topic" for r in i.reasons)]
    assert hits and {str(i.article_id) for i in hits} <= children
    details = {r.detail for i in hits for r in i.reasons if r.signal == "follow_topic"}
    assert details == {"You follow Politics > Election"}


@pytest.mark.slow
def test_the_classifier_names_second_levels_for_our_own_headlines() -> None:
    from tidings.enrich.embeddings import embed_texts

    settings = Settings()
    cases = {
        "Counting continues after a close vote for the regional assembly, with turnout up": "Politics",
        "The goalkeeper has agreed a three-year deal with his new club for an undisclosed fee": "Sport",
        "Rescuers search the rubble after a strong earthquake hits mountain towns": "Disaster and accident",
    }
    vectors = embed_texts(list(cases), settings)
    chosen = [
        topics.select_level2(p, [parent])
        for p, parent in zip(topics.classify_level2(vectors, settings), cases.values(), strict=True)
    ]
    assert chosen == [
        ["Politics > Election"],
        ["Sport > Sport transaction"],
        ["Disaster and accident > Disaster"],
    ]
    assert all(parent_topic(c[0]) == p for c, p in zip(chosen, cases.values(), strict=True))
    assert topics.classify_level2(np.zeros((0, vectors.shape[1]), dtype=np.float32), settings) == []


@pytest.mark.slow
def test_recorded_versions_change_so_stores_are_reenriched() -> None:
    """`tidings enrich --pending` re-runs articles whose recorded versions differ: the new enrichers'."""
    from tidings.enrich import aliases, versions

    stamp = versions(Settings())
    assert stamp["topics"].startswith(topics.VERSION + "/") and "+l2-" in topics.VERSION
    assert f"+{aliases.VERSION}/" in stamp["entities"]
    assert stamp["topics"] != "iptc-lr-2/" + stamp["embedding"]
