"""Key-point sentences: a real splitter, no cut after abbreviations, no fragments."""

from __future__ import annotations

import re

import pytest

from tests.conftest import shared_path
from tidings.enrich import keypoints
from tidings.ingest.documents import read_document
from tidings.pipeline.prepare import prepare_item

# Abbreviations a key point must not end at (the ones readers saw cut: "Mr.", "St.", "Rep.", "U.S.").
ABBREVIATION_END = re.compile(
    r"(?:^|\s)(?:Mr|Mrs|Ms|Dr|St|Rep|Sen|Gov|Gen|Lt|Col|Sgt|Capt|Prof|Jr|Sr|Inc|Corp|Ltd|Co|No|vs|"
    r"U\.S|U\.K|U\.N|e\.g|i\.e|Jan|Feb|Aug|Sept?|Oct|Nov|Dec)\.$"
)


def test_abbreviations_do_not_end_sentences() -> None:
    text = (
        "Mr. Blair met Rep. Smith on Baker St. in London on Monday. The U.S. envoy, Lt. Col. Jones, "
        "joined them later. Talks went on."
    )
    assert keypoints.split_sentences(text, "en") == [
        "Mr. Blair met Rep. Smith on Baker St. in London on Monday.",
        "The U.S. envoy, Lt. Col. Jones, joined them later.",
        "Talks went on.",
    ]


def test_fragments_and_abbreviation_endings_are_not_candidates() -> None:
    text = (
        "said a spokesman for the ministry, who declined to be named here.\n\n"
        "Demonstrators marched all the way along Bolshaya Polyanka St.\n\n"
        "The iPhone maker said sales rose sharply in the quarter.\n\n"
        "“Prices will rise again next year,” the bank said on Tuesday."
    )
    assert keypoints.candidate_sentences(text, "en") == [
        "The iPhone maker said sales rose sharply in the quarter.",
        "“Prices will rise again next year,” the bank said on Tuesday.",
    ]


def test_starts_mid_sentence() -> None:
    assert keypoints.starts_mid_sentence("and then it rained.")
    assert keypoints.starts_mid_sentence("“and then it rained.")
    assert not keypoints.starts_mid_sentence("eBay sold it.")
    assert not keypoints.starts_mid_sentence("2012 was a year.")
    assert not keypoints.starts_mid_sentence("北京今天下雨。")


@pytest.mark.shared
@pytest.mark.slow
def test_demo_corpus_key_points_are_whole_sentences() -> None:
    """Every key-point candidate (and standfirst) of the demo corpus starts and ends a real sentence."""
    root = shared_path("data", "demo-corpus")
    lower, abbreviation, seen = [], [], 0
    for path in sorted(root.glob("*/articles.jsonl")):
        for raw in read_document(path).items:
            article = prepare_item(raw).article
            points = keypoints.candidate_sentences(article.text, article.language)
            points += [article.standfirst] if article.standfirst else []
            seen += len(points)
            lower += [p for p in points if keypoints.starts_mid_sentence(p)]
            abbreviation += [p for p in points if ABBREVIATION_END.search(p)]
    assert seen > 2000
    assert lower == [] and abbreviation == []
