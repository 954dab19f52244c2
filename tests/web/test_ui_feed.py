"""For you, Why this?, Hidden, article, story, topic, search and reading pages over real HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.live import csrf_of, make_settings, serve, sign_up, write_seed

HOSTILE = {
    "url": "https://mischief.example/a",
    "title": "<script>window.__pwned=1</script> Harmless headline",
    "text": "An ordinary body about the harbour lights festival.",
    "source": "Mischief <b>Weekly</b>",
    "tags": ["<img src=x onerror=alert(1)>"],
}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server seeded with our articles plus one with markup in every text field."""
    folder = tmp_path_factory.mktemp("ui-feed")
    (folder / "home").mkdir()
    with serve(
        make_settings(folder / "home", [write_seed(folder, [HOSTILE])], public_reading=True),
        expect_articles=5,
    ) as url:
        yield url


@contextmanager
def reader(base: str, name: str, topics: list[str]) -> Iterator[httpx.Client]:
    """A signed-up, onboarded reader following topics."""
    with httpx.Client(base_url=base, timeout=30) as c:
        sign_up(c, name)
        token = csrf_of(c.get("/welcome").text)
        assert c.post("/welcome", data={"csrf": token, "topic": topics}).status_code == 303
        yield c


def card_ids(html: str) -> list[int]:
    """Article ids of the cards on a page."""
    return [int(i) for i in re.findall(r'data-article="(\d+)"', html)]


def article_id(c: httpx.Client, title_part: str) -> int:
    """The id of the article whose title contains title_part (from the search page)."""
    match = re.search(r'href="/articles/(\d+)">[^<]*' + re.escape(title_part), c.get("/latest").text)
    assert match, title_part
    return int(match.group(1))


def test_for_you_shows_followed_topic_with_reason_chip(base: str) -> None:
    with reader(base, "fiona", ["Science"]) as c:
        page = c.get("/for-you")
        assert page.status_code == 200
        assert "You follow Science" in page.text
        assert "Amateur astronomers spot a faint comet" in page.text
        assert 'href="/why/' in page.text and "Full coverage" in page.text
        assert c.get("/").text.count('class="card"') == page.text.count('class="card"')


def test_everything_user_supplied_is_escaped(base: str) -> None:
    with reader(base, "eve", ["<img src=x onerror=alert(1)>"]) as c:
        for path in ("/for-you", "/latest", "/search?q=harbour+lights", "/settings", "/hidden"):
            text = c.get(path).text
            assert "<script>window.__pwned" not in text, path
            assert "<img src=x" not in text and "<b>Weekly" not in text, path
        assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in c.get("/latest").text
        hostile_id = article_id(c, "Harmless headline")
        article = c.get(f"/articles/{hostile_id}").text
        assert "<script>window" not in article and "&lt;img src=x onerror=alert(1)&gt;" in article


def test_why_breakdown_sums_to_the_score_and_switches_save(base: str) -> None:
    with reader(base, "walter", ["Business"]) as c:
        grain = article_id(c, "Grain prices steady")
        page = c.get(f"/why/{grain}").text
        contributions = [float(x) for x in re.findall(r'class="num (?:pos|neg)">([+-][0-9.]+)', page)]
        total = float(re.search(r'class="num total">([0-9.+-]+)<', page).group(1))  # type: ignore[union-attr]
        assert contributions and abs(sum(contributions) - total) < 0.01
        assert "You follow Business" in page
        token = csrf_of(page)
        on = ["follow_topic", "freshness"]
        saved = c.post("/controls/signals", data={"csrf": token, "on": on, "next": f"/why/{grain}"})
        assert saved.status_code == 303
        after = c.get(f"/why/{grain}").text
        assert 'id="on-story_size" name="on" value="story_size">' in after  # now unchecked
        assert 'value="freshness" checked' in after
        bad = c.post("/controls/signals", data={"csrf": token, "on": on, "w_freshness": "lots"})
        assert bad.status_code == 422 and "Traceback" not in bad.text
        huge = c.post("/controls/signals", data={"csrf": token, "on": on, "w_freshness": "1e9"})
        assert huge.status_code == 422
        form = {"csrf": token, "on": on, "w_freshness": "lots", "next": f"/why/{grain}"}
        inline = c.post("/controls/signals", data=form)
        assert inline.status_code == 422 and "Something went wrong" not in inline.text
        assert 'value="lots"' in inline.text and "Enter a number from -10 to 10." in inline.text


def test_hide_and_mute_source_move_items_to_hidden(base: str) -> None:
    with reader(base, "hugo", ["Transport", "Science"]) as c:
        page = c.get("/for-you").text
        token = csrf_of(page)
        ids = card_ids(page)
        comet = article_id(c, "Amateur astronomers")
        assert comet in ids
        hid = c.post("/act", data={"csrf": token, "article_id": comet, "action": "hide", "next": "/for-you"})
        assert hid.status_code == 303 and hid.headers["location"] == "/for-you?note=hidden"
        assert comet not in card_ids(c.get("/for-you").text)
        muted = c.post(
            "/act",
            data={"csrf": token, "article_id": ids[0], "action": "mute_source", "source": "Harbour Gazette"},
            headers={"Accept": "application/json"},
        )
        assert muted.json() == {"ok": True, "note": "muted"}
        feed = c.get("/for-you").text
        assert "Harbour Gazette" not in feed.split('<ol class="cards"')[1]
        hidden = c.get("/hidden").text
        assert "Night ferry returns" in hidden and "hidden by you" in hidden
        assert "Harbour Gazette" in hidden and "Unmute" in hidden


def test_card_actions_validate_input(base: str) -> None:
    with reader(base, "ivan", ["Science"]) as c:
        token = csrf_of(c.get("/for-you").text)
        assert c.post("/act", data={"csrf": token, "article_id": 999999, "action": "like"}).status_code == 404
        assert c.post("/act", data={"csrf": token, "article_id": 1, "action": "explode"}).status_code == 422
        assert c.post("/act", data={"csrf": token, "article_id": "x", "action": "like"}).status_code == 422
        bad_target = c.post("/targets", data={"csrf": token, "action": "follow", "target": "planet:Mars"})
        assert bad_target.status_code == 422 and "Traceback" not in bad_target.text
        liked = c.post(
            "/act", data={"csrf": token, "article_id": 1, "action": "like", "next": "https://evil.example"}
        )
        assert liked.headers["location"] == "/?note=liked"


def test_article_topic_story_and_reading_pages(base: str) -> None:
    with reader(base, "judy", ["Transport"]) as c:
        ferry = article_id(c, "Night ferry returns")
        article = c.get(f"/articles/{ferry}").text
        assert "Full coverage" in article and 'href="/topics/Transport"' in article
        assert 'value="topic:Transport"' in article and "Following" in article
        story_id = int(re.search(r'href="/stories/(\d+)"', article).group(1))  # type: ignore[union-attr]
        first = c.get(f"/stories/{story_id}").text
        assert "Timeline" in first and "since you last looked" not in first
        again = c.get(f"/stories/{story_id}").text
        assert "Nothing new since you last looked." in again
        topic = c.get("/topics/Transport").text
        assert "Night ferry returns" in topic and "Island ferry back" in topic and "Following" in topic
        reading = c.get("/reading").text
        assert "<svg" in reading and "Transport" in reading and "100%" in reading


def test_undated_articles_say_date_unknown_and_topic_pages_page(base: str) -> None:
    # The seed articles carry no date: every list says so instead of "just now".
    latest = httpx.get(f"{base}/latest").text
    assert "date unknown" in latest and "just now" not in latest
    listing = httpx.get(f"{base}/topics/Transport").text
    assert "date unknown" in listing and 'rel="next"' not in listing
    assert httpx.get(f"{base}/topics/Transport", params={"page": 2}).status_code == 200


def test_search_with_filters(base: str) -> None:
    page = httpx.get(f"{base}/search", params={"q": "ferry"}).text
    assert "Night ferry returns" in page and "Island ferry back" in page
    only = httpx.get(f"{base}/search", params={"q": "ferry", "source": "Valley Courier"}).text
    assert "Island ferry back" in only and "Night ferry returns" not in only
    none = httpx.get(f"{base}/search", params={"q": "ferry", "topic": "Science"}).text
    assert "No results" in none
    future = httpx.get(f"{base}/search", params={"q": "ferry", "from": "2999-01-01"}).text
    assert "No results" in future
    bad = httpx.get(f"{base}/search", params={"q": "ferry", "from": "yesterday"})
    assert bad.status_code == 422 and "Write dates as YYYY-MM-DD" in bad.text
    assert 'value="yesterday"' in bad.text and 'value="ferry"' in bad.text  # what was typed is kept
    browse = httpx.get(f"{base}/search", params={"source": "Valley Courier", "sort": "date"}).text
    assert "Island ferry back" in browse and "Night ferry returns" not in browse  # filters alone browse
    either = httpx.get(f"{base}/search", params={"q": "comet OR grain"}).text
    assert "faint comet" in either and "Grain prices" in either


def test_another_readers_data_is_never_visible(base: str) -> None:
    with reader(base, "kate", ["Science"]) as kate, reader(base, "leo", ["Business"]) as leo:
        token = csrf_of(kate.get("/settings").text)
        kate.post("/targets", data={"csrf": token, "action": "mute", "target": "keyword:kate-secret-word"})
        made = kate.post("/settings/tokens", data={"csrf": token, "name": "kate-phone"})
        assert "kate-phone" in made.text
        kate_token_id = int(re.search(r"/settings/tokens/(\d+)/revoke", made.text).group(1))  # type: ignore[union-attr]
        leo_settings = leo.get("/settings").text
        assert "kate-secret-word" not in leo_settings and "kate-phone" not in leo_settings
        assert "kate-secret-word" not in leo.get("/hidden").text
        assert "kate-secret-word" not in leo.get("/settings/export").text
        leo_token = csrf_of(leo_settings)
        assert (
            leo.post(f"/settings/tokens/{kate_token_id}/revoke", data={"csrf": leo_token}).status_code == 404
        )
        assert "You follow Science" not in leo.get("/for-you").text
        # Leo's form token is bound to Leo's session: it does not work with Kate's session.
        assert (
            kate.post(
                "/targets", data={"csrf": leo_token, "action": "follow", "target": "topic:X"}
            ).status_code
            == 403
        )
