"""The live entity IDF: its weights, and the window of recent articles that frees them from store size."""

from __future__ import annotations

import random

import pytest

from tidings.stories.centroid_index import EntityIdf


def _news(articles: int, seed: int = 3) -> list[set[str]]:
    """A steady mix: a name in every article, one in a tenth of them, and names of one event each."""
    rng = random.Random(seed)
    return [
        {"gpe:us", f"person:victim-{n // 3}", *({"org:un"} if rng.random() < 0.1 else set())}
        for n in range(articles)
    ]


def _fed(articles: list[set[str]], window: int) -> EntityIdf:
    idf = EntityIdf(window)
    for keys in articles:
        idf.observe(keys)
    return idf


def test_common_names_weigh_the_floor_and_an_event_name_near_one() -> None:
    idf = _fed(_news(300), window=1000)
    assert idf.documents == 300
    assert idf["gpe:us"] == pytest.approx(0.2)
    assert 0.2 < idf["org:un"] < idf["person:victim-5"] < 1.0
    assert "person:nobody" not in idf  # unseen: the caller weighs it 1


def test_a_larger_store_of_the_same_news_keeps_the_same_weights() -> None:
    news = _news(20_000)
    small, large = _fed(news[:500], window=500), _fed(news, window=500)
    assert large.documents == 500
    # A name in the same share of articles weighs what it did; without the window it would weigh less.
    assert large["org:un"] == pytest.approx(small["org:un"], abs=0.05)
    whole = _fed(news, window=len(news))
    assert whole["org:un"] < large["org:un"] - 0.1


def test_articles_past_the_window_no_longer_count() -> None:
    idf = _fed([{"person:once"}, *({"gpe:us"} for _ in range(3))], window=3)
    assert "person:once" not in idf and idf.document_frequency == {"gpe:us": 3}
    idf.observe({"person:once"})
    assert idf.document_frequency == {"gpe:us": 2, "person:once": 1} and idf.documents == 3


def test_weights_are_what_a_fresh_count_of_the_window_gives() -> None:
    news = _news(700, seed=9)
    rolled, fresh = _fed(news, window=250), _fed(news[-250:], window=250)
    assert dict(rolled) == dict(fresh)
