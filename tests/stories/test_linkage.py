"""Member linkage: a dated article joins the story whose members the pair model reads as the same event."""

from __future__ import annotations

from dataclasses import replace

from tests.stories.test_cluster import flood, rates
from tidings.pipeline.story_placement import CLUSTER_WINDOW_HOURS, candidate_window
from tidings.stories import ArticleSignature, CandidateIndex, add_to_story, assign, new_story
from tidings.stories.clusterer import member_support
from tidings.stories.scoring import DEFAULT_WEIGHTS

LINKED = replace(DEFAULT_WEIGHTS, linkage=0.5)
OFF = replace(DEFAULT_WEIGHTS, linkage=0.0)


def undated(sig: ArticleSignature) -> ArticleSignature:
    moment = sig.event_time
    return ArticleSignature(sig.article_id, sig.title, sig.embedding, sig.entity_keys, ingested_at=moment)


def test_a_dated_article_joins_by_its_members_not_the_centroid() -> None:
    story = add_to_story(new_story(1, flood(1)), flood(2, 1.0))
    article = flood(3, 2.0)
    agreeing, other_event = [flood(1), flood(2, 1.0)], [rates(11), rates(12)]
    joined = assign(article, [story], weights=LINKED, members=lambda s: agreeing)
    assert joined.story_id == 1 and "members" in joined.reason
    # The same centroid, with members of another event behind it, is not joined.
    assert assign(article, [story], weights=LINKED, members=lambda s: other_event).is_new
    # With linkage off the centroid decides, whatever the members say.
    assert assign(article, [story], weights=OFF, members=lambda s: other_event).story_id == 1


def test_linkage_picks_the_story_whose_members_agree_among_several() -> None:
    blurred = add_to_story(new_story(1, flood(1)), flood(2, 1.0))
    second = new_story(2, flood(4, 1.0))
    lookup = {1: [rates(11)], 2: [flood(4, 1.0)]}
    decision = assign(flood(3, 2.0), [blurred, second], weights=LINKED, members=lambda s: lookup[s.story_id])
    assert decision.story_id == 2 and decision.runner_up == 1


def test_an_undated_article_keeps_the_centroid_decision() -> None:
    story = add_to_story(new_story(1, flood(1)), flood(2, 1.0))
    article = undated(flood(3, 2.0))
    assert article.published_at is None and article.event_time is not None  # ingest time stands in
    assert assign(article, [story], weights=LINKED, members=lambda s: [rates(11)]).story_id == 1


def test_member_support_averages_the_best_k_members() -> None:
    article = flood(3, 2.0)
    mixed = [flood(1), rates(11)]
    best, both = member_support(article, mixed, top=5, k=1), member_support(article, mixed, top=5, k=2)
    assert best > 0.5 and both < best
    assert member_support(article, mixed, top=1, k=2) == best  # only the closest member is looked at


def test_linkage_widens_the_candidate_window_for_dated_articles_only() -> None:
    assert candidate_window(OFF, flood(1)) == CLUSTER_WINDOW_HOURS
    assert candidate_window(LINKED, flood(1)) == LINKED.linkage_window_hours > CLUSTER_WINDOW_HOURS
    assert candidate_window(LINKED, undated(flood(1))) == CLUSTER_WINDOW_HOURS
    index = CandidateIndex(dim=16)
    index.upsert(new_story(1, flood(1)))
    follow_up = flood(2, 24.0 * 20)  # twenty days later
    assert index.candidates(follow_up, window_hours=candidate_window(OFF, follow_up)) == []
    wide = index.candidates(follow_up, window_hours=candidate_window(LINKED, follow_up))
    assert [s.story_id for s in wide] == [1]
