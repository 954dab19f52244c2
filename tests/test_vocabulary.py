"""One topic vocabulary: IPTC keys, case and synonym variants, tags, and reasons that name what matched."""

from __future__ import annotations

from dataclasses import replace

from tests.rank.factory import NOW, make_candidates
from tidings.rank import Profile, UserControls, build_feed
from tidings.store.users import parse_target
from tidings.vocabulary import IPTC_TOPICS, iptc_topic, same_topic, split_tags, topic_key


def test_case_and_synonym_variants_share_one_key() -> None:
    assert topic_key("politics") == topic_key("Politics and conflicts") == "Politics"
    assert topic_key("Economics & Business") == topic_key("economy") == "Business"
    assert topic_key("SPORTS") == "Sport"
    assert topic_key("  North   Korea ") == "North Korea"
    assert same_topic("north korea", "North Korea") and not same_topic("North Korea", "Politics")
    assert all(topic_key(name) == name for name in IPTC_TOPICS)


def test_tags_map_onto_iptc_or_stay_tags() -> None:
    topics, tags = split_tags(["Politics", "politics", "English", "Weblog", "War & Conflict", "weblog"])
    assert topics == ["Politics", "Conflict"]
    assert tags == ["English", "Weblog"]
    assert iptc_topic("Updates") is None


def test_follow_targets_are_stored_under_the_key() -> None:
    assert parse_target("topic:politics") == ("topic", "Politics")
    assert parse_target("topic:north korea") == ("topic", "north korea")
    assert parse_target("entity:Kim Jong-un") == ("entity", "Kim Jong-un")


def test_following_a_variant_scores_articles_chipped_with_the_key() -> None:
    cands = [
        replace(c, topics=["Politics" if t == "politics" else t for t in c.topics]) for c in make_candidates()
    ]
    result = build_feed(Profile(), UserControls(follows=[("topic", "politics")]), cands, NOW)
    politics = {str(c.article_id) for c in cands if "Politics" in c.topics}
    followed = [i for i in result.items if any(r.signal == "follow_topic" for r in i.reasons)]
    assert followed and all(str(i.article_id) in politics for i in followed)
    assert all(
        r.detail == "You follow Politics" for i in followed for r in i.reasons if r.signal == "follow_topic"
    )


def test_reason_names_the_follow_that_matched() -> None:
    cands = make_candidates()
    for c in cands:
        if "North Korea" in c.topics:
            c.topics.append("Politics")
    controls = UserControls(follows=[("topic", "Sport"), ("topic", "North Korea")])
    result = build_feed(Profile(), controls, cands, NOW)
    by_id = {str(c.article_id): c for c in cands}
    for item in result.items:
        details = [r.detail for r in item.reasons if r.signal == "follow_topic"]
        if "North Korea" in by_id[str(item.article_id)].topics:
            assert details == ["You follow North Korea"]
        for detail in details:
            assert "Politics" not in detail
