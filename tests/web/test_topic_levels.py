"""Second-level topics over real HTTP: onboarding, topic pages and search filters use one key per level,
and a top level covers its children."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from tests.live import csrf_of, make_settings, serve, sign_up, write_seed

VOTE = {
    "url": "https://upland-post.example/vote",
    "title": "Upland district counts its ballots after a close vote",
    "text": "Counting went on late into the night after the district vote for a new council.\n\n"
    "Turnout was higher than four years ago, officials said.",
    "source": "Upland Post",
    "tags": ["Elections"],
}
CABINET = {
    "url": "https://upland-post.example/cabinet",
    "title": "Regional cabinet meets to agree on the spending plan",
    "text": "The regional cabinet met on Monday to agree the spending plan for next year.\n\n"
    "Ministers said the plan would be published in a week.",
    "source": "Upland Post",
    "tags": ["Politics"],
}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server seeded with our articles, one tagged with a second level and one with its top level."""
    folder = tmp_path_factory.mktemp("topic-levels")
    (folder / "home").mkdir()
    settings = make_settings(folder / "home", [write_seed(folder, [VOTE, CABINET])], public_reading=True)
    with serve(settings, expect_articles=6) as url:
        yield url


def test_topic_pages_and_search_filters_use_one_key_per_level(base: str) -> None:
    child = httpx.get(f"{base}/topics/{quote('Politics > Election')}").text
    assert "Upland district counts" in child and "Regional cabinet" not in child
    assert httpx.get(f"{base}/topics/election").text.count("Upland district counts") >= 1
    parent = httpx.get(f"{base}/topics/Politics").text
    assert "Upland district counts" in parent and "Regional cabinet" in parent
    found = httpx.get(f"{base}/search", params={"topic": "Politics"}).text
    assert "Upland district counts" in found and "Regional cabinet" in found
    only = httpx.get(f"{base}/search", params={"topic": "politics > election"}).text
    assert "Upland district counts" in only and "Regional cabinet" not in only


def test_onboarding_offers_both_levels_once_and_following_the_top_level_covers_the_child(base: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as c:
        sign_up(c, "petra")
        welcome = c.get("/welcome").text
        offered = re.findall(r'name="topic" value="([^"]+)"', welcome)
        assert "Politics" in offered and "Politics &gt; Election" in offered
        assert len({t.casefold() for t in offered}) == len(offered) and "Elections" not in offered
        token = csrf_of(welcome)
        assert c.post("/welcome", data={"csrf": token, "topic": ["Politics"]}).status_code == 303
        feed = c.get("/for-you").text
        cards = [part for part in feed.split('data-article="')[1:] if "Upland district counts" in part]
        assert cards and "You follow Politics" in cards[0].split('data-article="')[0]
