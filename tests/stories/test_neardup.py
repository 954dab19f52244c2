"""Near-duplicate fingerprints."""

from __future__ import annotations

from tidings.stories.neardup import (
    NearDupIndex,
    fingerprint_similarity,
    near_duplicate_of,
    text_fingerprint,
)
from tidings.stories.signature import ArticleSignature

ORIGINAL = (
    "The harbour authority in Port Elling closed the northern quay on Monday after inspectors found "
    "cracks in the old sea wall. Ferries will use the southern berth for at least two weeks while engineers "
    "decide "
    "whether the wall can be repaired or must be rebuilt, the authority said in a statement."
)
REWRITE = (
    ORIGINAL.replace("Monday", "Tuesday").replace("in a statement", "on its website")
    + " Fares are unchanged."
)
OTHER = (
    "A new library opened in the village of Brackwater with three thousand books donated by residents, a "
    "reading garden and a small room for evening classes run by volunteers from the parish council."
)


def test_rewrite_is_similar_and_other_text_is_not() -> None:
    a, b, c = text_fingerprint(ORIGINAL), text_fingerprint(REWRITE), text_fingerprint(OTHER)
    assert a is not None and len(a) == 256
    assert fingerprint_similarity(a, b) >= 0.6
    assert fingerprint_similarity(a, c) < 0.2


def test_short_or_empty_text_has_no_fingerprint() -> None:
    assert text_fingerprint("") is None
    assert text_fingerprint("too short to tell") is None
    assert fingerprint_similarity(None, text_fingerprint(ORIGINAL)) == 0.0


def test_near_duplicate_of_picks_the_copy() -> None:
    recent = [
        ArticleSignature(1, "Library opens", fingerprint=text_fingerprint(OTHER)),
        ArticleSignature(2, "Quay closed", fingerprint=text_fingerprint(ORIGINAL)),
    ]
    new = ArticleSignature(3, "Port Elling quay shut", fingerprint=text_fingerprint(REWRITE))
    assert near_duplicate_of(new, recent) == 2
    assert (
        near_duplicate_of(
            ArticleSignature(4, "x", fingerprint=text_fingerprint(OTHER + " More.")), recent[1:]
        )
        is None
    )


def test_textless_articles_match_only_on_identical_long_headlines() -> None:
    a = ArticleSignature(1, "Storm closes every school in the county")
    assert near_duplicate_of(ArticleSignature(2, "Storm closes every school in the county"), [a]) == 1
    assert near_duplicate_of(ArticleSignature(3, "Storm closes schools"), [a]) is None


def test_lsh_index_finds_removes_and_excludes() -> None:
    index = NearDupIndex()
    index.add(10, text_fingerprint(ORIGINAL))
    index.add(11, text_fingerprint(OTHER))
    index.add(12, None)
    assert len(index) == 2
    assert index.find(text_fingerprint(REWRITE)) == 10
    assert index.find(text_fingerprint(ORIGINAL), exclude=10) is None
    index.remove(10)
    assert index.find(text_fingerprint(REWRITE)) is None
