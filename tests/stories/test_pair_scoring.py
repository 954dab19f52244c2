"""The article-pair decision: its own calibration and the short-text regime."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.stories.helpers import direction, sig_about
from tidings.stories.clusterer import add_to_story, remove_from_story
from tidings.stories.scoring import (
    DEFAULT_PAIR_WEIGHTS,
    DEFAULT_WEIGHTS,
    PairFeatures,
    number_overlap,
    pair_features,
    pair_logit,
    pair_match,
    score_match,
    shared_entities,
    shortness,
)
from tidings.stories.signature import (
    TERM_PREFIX,
    ArticleSignature,
    StoryState,
    body_terms,
    distinctive_numbers,
)


def _with_length(sig: ArticleSignature, words: int) -> ArticleSignature:
    sig.word_count = words
    return sig


def test_shortness_is_zero_for_full_or_unknown_lengths_and_grows_for_summaries() -> None:
    long_a = _with_length(sig_about(1, 0, "Dam bursts", {}), 600)
    long_b = _with_length(sig_about(2, 0, "Dam breaks", {}), 400)
    unknown = sig_about(3, 0, "Dam", {})
    summary = _with_length(sig_about(4, 0, "Dam", {}), 30)
    words = DEFAULT_PAIR_WEIGHTS.short_words
    assert shortness(long_a, long_b, words) == 0.0
    assert shortness(long_a, unknown, words) == 0.0
    assert shortness(unknown, unknown, words) == 0.0
    assert shortness(long_a, summary, words) == 1.0 - 30 / words


def test_summaries_need_less_evidence_than_full_articles() -> None:
    full = _with_length(sig_about(1, 0, "Harbour crane collapses", {}), 800)
    other = _with_length(sig_about(2, 0, "Workers hurt at quay", {}), 800)
    as_summaries = [_with_length(sig_about(i, 0, t, {}), 40) for i, t in ((3, full.title), (4, other.title))]
    assert pair_match(*as_summaries).score > pair_match(full, other).score


def test_pair_score_stays_monotone_below_the_cosine_floor() -> None:
    w = DEFAULT_PAIR_WEIGHTS
    nothing = PairFeatures(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    weak = pair_logit(nothing._replace(cosine=0.1), w)
    weaker = pair_logit(nothing, w)
    overlapping = pair_logit(PairFeatures(0.2, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0), w)
    assert weaker < weak < 0.0 and overlapping < 0.0  # no overlap rescues unrelated texts


def test_pair_decision_splits_same_and_different_events() -> None:
    ents = {"place:eastbrook": 2, "person:lena ortiz": 1}
    same_a = _with_length(sig_about(1, 0, "Eastbrook flood forces families out", ents), 500)
    same_b = _with_length(sig_about(2, 0, "Families leave Eastbrook as river floods", ents), 500)
    other = _with_length(sig_about(3, 1, "Central bank lifts rates", {"org:valtoria bank": 1}), 500)
    assert pair_match(same_a, same_b).is_match
    assert not pair_match(same_a, other).is_match
    assert pair_match(same_a, same_b).probability > 0.5 > pair_match(same_a, other).probability


def test_clustering_score_ignores_length() -> None:
    sig = sig_about(1, 0, "Eastbrook flood", {"place:eastbrook": 1})
    story = StoryState(7, vector_sum=direction(0), embedded_count=1, member_titles={9: "Eastbrook flood"})
    before = score_match(sig, story, None, DEFAULT_WEIGHTS).score
    sig.word_count = 20
    assert score_match(sig, story, None, DEFAULT_WEIGHTS).score == before


def test_distinctive_numbers_keep_years_scores_and_tallies_but_not_single_digits() -> None:
    text = "Klitschko (52-3) won on 18 May 2013 at 13:59 before 1,200 fans; 2 were hurt in round 7."
    assert distinctive_numbers(text) == {"52-3", "18", "2013", "13:59", "1200"}
    assert distinctive_numbers("No figures here, only 3 and 4") == frozenset()


def test_number_overlap_is_shared_over_the_smaller_side_and_story_share_weighted() -> None:
    wide = dict.fromkeys(["2013", "52-3", "45-7", "18"], 1)
    assert number_overlap(frozenset({"2013", "52-3"}), wide) == 1.0
    assert number_overlap(frozenset({"2008", "78"}), dict.fromkeys(["2013", "52-3"], 1)) == 0.0
    assert number_overlap(frozenset(), {"2013": 1}) == 0.0
    # In a four-member story a number counts fully once two members carry it, half with one.
    story = {"2013": 2, "18": 1}
    assert number_overlap(frozenset({"2013", "18"}), story, 4) == 1.0
    assert number_overlap(frozenset({"18", "99"}), story, 4) == 0.5


def test_shared_numbers_raise_the_pair_score() -> None:
    base = [_with_length(sig_about(i, 0, "Boxer keeps his belts", {"person:wladimir klitschko": 2}), 400)
            for i in (1, 2)]  # fmt: skip
    plain = pair_match(*base).score
    base[0].numbers = frozenset({"2013", "52-3"})
    base[1].numbers = frozenset({"2013", "52-3", "45-7"})
    shared = pair_match(*base).score
    base[1].numbers = frozenset({"2008", "49-3"})
    clashing = pair_match(*base).score
    assert shared > plain and shared > clashing


def test_story_number_counts_follow_members_and_survive_json() -> None:
    a = sig_about(1, 0, "Quay fire", {})
    a.numbers = frozenset({"2013", "14"})
    b = sig_about(2, 0, "Quay fire spreads", {})
    b.numbers = frozenset({"2013"})
    story = add_to_story(add_to_story(StoryState(5), a), b)
    assert story.number_counts == {"2013": 2, "14": 1}
    assert StoryState.from_json(story.to_json()).number_counts == story.number_counts
    assert remove_from_story(story, a).number_counts == {"2013": 1}


def test_optional_clustering_signals_move_the_score_the_documented_way() -> None:
    sig = sig_about(1, 0, "Quay fire", {"place:port elling": 1})
    sig.numbers = frozenset({"2013"})
    single = StoryState(7, vector_sum=direction(0), embedded_count=1, member_titles={9: "Quay fire"})
    single.entity_counts = {"place:eastbrook": 1}
    crowded = StoryState(8, vector_sum=4 * direction(0), embedded_count=4,
                         member_titles={i: "Quay fire" for i in range(10, 14)})  # fmt: skip
    crowded.entity_counts = {"place:port elling": 4}
    plain = replace(DEFAULT_WEIGHTS, crowd=0.0)
    assert score_match(sig, crowded, None, replace(plain, crowd=0.2)).score == pytest.approx(
        score_match(sig, crowded, None, plain).score - 0.2 * 0.75
    )
    # The shipped weights hold a story of several members to a higher bar, and a one-member story to none.
    assert DEFAULT_WEIGHTS.crowd > 0.0
    assert score_match(sig, crowded, None).score == pytest.approx(
        score_match(sig, crowded, None, plain).score - DEFAULT_WEIGHTS.crowd * 0.75
    )
    assert score_match(sig, single, None).score == pytest.approx(score_match(sig, single, None, plain).score)
    # Both name places and share none: the clash penalty applies; it does not where they share one.
    clash = replace(plain, conflict=0.1)
    assert score_match(sig, single, None, clash).score == pytest.approx(
        score_match(sig, single, None, plain).score - 0.1
    )
    assert score_match(sig, crowded, None, clash).score == score_match(sig, crowded, None, plain).score
    crowded.number_counts = {"2013": 4}
    counted = replace(plain, number=0.3)
    assert score_match(sig, crowded, None, counted).score == pytest.approx(
        score_match(sig, crowded, None, plain).score + 0.3
    )
    sig.word_count = 30
    brief = replace(plain, short=0.1)
    assert score_match(sig, crowded, None, brief).score == pytest.approx(
        score_match(sig, crowded, None, plain).score + 0.1 * (1 - 30 / plain.short_words)
    )


def test_a_rare_shared_entity_raises_the_pair_score_more_than_common_ones() -> None:
    # Signature entity keys are already normalised (people by surname).
    crowd = {f"agency-{n}": 1 for n in range(8)}
    a = _with_length(sig_about(1, 0, "Shooting leaves two hurt", {**crowd, "quell": 1}), 400)
    b = _with_length(sig_about(2, 0, "Two wounded in shooting", {"quell": 1, "elm-row": 1}), 400)
    c = _with_length(sig_about(3, 0, "Two wounded in shooting", {"agency-1": 1, "elm-row": 1}), 400)
    idf = {"quell": 1.0, "elm-row": 0.9, **dict.fromkeys(crowd, 0.2)}
    rare, _, _ = shared_entities(a.entity_keys, b.entity_keys, idf)
    assert rare == 1.0
    assert pair_match(a, b, idf).score > pair_match(a, c, idf).score


def test_reports_weeks_apart_score_lower_than_same_day_ones() -> None:
    ents = {"place:eastbrook": 1, "person:lena ortiz": 1}
    first = _with_length(sig_about(1, 0, "Eastbrook shooting", ents), 400)
    same_day = _with_length(sig_about(2, 0, "Eastbrook shooting", ents, hours=5), 400)
    weeks_later = _with_length(sig_about(3, 0, "Eastbrook shooting", ents, hours=24 * 40), 400)
    features = pair_features(first, weeks_later)
    assert features.days_apart > pair_features(first, same_day).days_apart > 0.0
    assert pair_match(first, same_day).score > pair_match(first, weeks_later).score


def test_body_terms_count_content_stems_and_keep_the_most_frequent() -> None:
    text = "The 2024 floods: floods closed the bridge; flooding closed 12 roads and the bridge stayed shut."
    terms = body_terms(text)
    assert terms == {
        **{"~floods": 2, "~closed": 2, "~bridge": 2},
        **{"~floodi": 1, "~roads": 1, "~stayed": 1, "~shut": 1},
    }
    assert all(key.startswith(TERM_PREFIX) for key in terms)  # never taken for an entity key in the IDF
    # Ties are broken by the term, not by where it first appears.
    assert list(body_terms(text, limit=3)) == ["~bridge", "~closed", "~floods"]
    assert body_terms("the and of 2024 12 a") == {}


def test_shared_rare_body_terms_raise_the_pair_score_and_common_ones_less() -> None:
    a = _with_length(sig_about(1, 0, "Ferry runs aground", {}), 400)
    b = _with_length(sig_about(2, 0, "Ferry runs aground", {}), 400)
    c = _with_length(sig_about(3, 0, "Ferry runs aground", {}), 400)
    a.body_terms = body_terms("sandbank tugboat ferry passengers coastguard sandbank")
    b.body_terms = body_terms("tugboat sandbank coastguard ferry passengers")
    c.body_terms = body_terms("harbour officials weather statement morning update")
    assert pair_features(a, b).terms > 0.9 and pair_features(a, c).terms == 0.0
    assert pair_match(a, b).score > pair_match(a, c).score
    # A cosine: weighing every shared word alike at the IDF floor changes nothing...
    common = dict.fromkeys(a.body_terms, 0.2)
    assert pair_features(a, b, common).terms == pytest.approx(pair_features(a, b).terms)
    # ...but words only one side uses count for more when the window finds them rarer than the shared ones.
    a.body_terms["~vessel"] = 3
    b.body_terms["~pier"] = 3
    rare_left = {**common, "~vessel": 1.0, "~pier": 1.0}
    assert pair_features(a, b, rare_left).terms < pair_features(a, b).terms
