"""Profiles: incremental updates, validation, persistence, rate limiting, controls parsing."""

from __future__ import annotations

import numpy as np
import pytest

from tidings.rank import FeedbackEvent, Profile, UserControls, parse_target, update_profile
from tidings.rank.profile import MAX_DWELL_SECONDS, affinity_value, signal_strength
from tidings.ratelimit import TokenBucket

from .factory import NOW, make_candidates


def test_update_is_incremental_and_leaves_the_input_untouched() -> None:
    c = make_candidates(5)[0]
    empty = Profile()
    one = update_profile(empty, FeedbackEvent("like", c.article_id, NOW), c, NOW)
    assert empty.is_empty and empty.long_vec is None
    assert one.counts == {"like": 1} and one.long_vec is not None
    assert affinity_value(one.topic_aff[c.topics[0].lower().replace(" ", "-")]) > 0
    two = update_profile(one, FeedbackEvent("fewer", c.article_id, NOW), c, NOW)
    assert two.neg_vec is not None and float(np.linalg.norm(two.neg_vec)) > 0
    assert one.neg_vec is None


def test_negative_dwell_is_rejected_and_long_dwell_clamped() -> None:
    c = make_candidates(5)[0]
    with pytest.raises(ValueError, match="dwell must be"):
        update_profile(Profile(), FeedbackEvent("read", c.article_id, NOW, -3.0), c, NOW)
    assert signal_strength("read", MAX_DWELL_SECONDS) < 3.0
    long_read = update_profile(Profile(), FeedbackEvent("read", c.article_id, NOW, 1e9), c, NOW)
    assert long_read.long_vec is not None and np.all(np.isfinite(long_read.long_vec))


def test_bad_events_raise_clear_errors() -> None:
    c = make_candidates(5)[0]
    with pytest.raises(ValueError, match="unknown event kind"):
        update_profile(Profile(), FeedbackEvent("teleport", c.article_id, NOW), c, NOW)
    with pytest.raises(ValueError, match="unknown or deleted article"):
        update_profile(Profile(), FeedbackEvent("click", 999, NOW), None, NOW)
    with pytest.raises(ValueError, match="but the item is"):
        update_profile(Profile(), FeedbackEvent("click", 999, NOW), c, NOW)


def test_json_round_trip_keeps_everything() -> None:
    cands = make_candidates(20)
    profile = Profile(user="ana")
    for kind, c in zip(["read", "like", "hide", "fewer", "impression"], cands, strict=False):
        profile = update_profile(profile, FeedbackEvent(kind, c.article_id, NOW, 40.0), c, NOW)
    back = Profile.from_json(profile.to_json())
    assert back.counts == profile.counts and back.hidden_story_ids == profile.hidden_story_ids
    assert back.long_vec is not None and profile.long_vec is not None
    assert np.allclose(back.long_vec, profile.long_vec)
    assert [p.title for p in back.positives] == [p.title for p in profile.positives]
    with pytest.raises(ValueError, match="malformed profile"):
        Profile.from_json("{}")


def test_token_bucket_limits_a_flood() -> None:
    bucket = TokenBucket(rate=20, burst=100)
    allowed = sum(bucket.allow("flood", now=1000.0 + k / 10_000) for k in range(10_000))
    assert 100 <= allowed <= 121  # the burst plus one second of refill
    assert bucket.allow("other", now=1000.0)
    assert bucket.allow("flood", now=1002.0)


def test_targets_are_parsed_and_unknown_kinds_rejected() -> None:
    assert parse_target("topic:North Korea") == ("topic", "North Korea")
    assert parse_target("source:scmp.com") == ("source", "scmp.com")
    with pytest.raises(ValueError, match="unknown target kind"):
        parse_target("planet:Mars")
    with pytest.raises(ValueError, match="empty value"):
        parse_target("keyword:  ")
    with pytest.raises(ValueError, match="unknown target kind"):
        UserControls(mutes=[("colour", "red")])
    with pytest.raises(ValueError, match="source_cap"):
        UserControls(source_cap=0.0)
