"""One reading state, and what the feed learns from it: app reads teach For you, a read article never rises,
"read by others" is other people only, Saved and Undo work, over real HTTP on loopback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

import httpx
import pytest

from tests.live import csrf_of, make_settings, serve, sign_up, write_seed

PASSWORD = "correct horse battery"
TOPICS = {
    "Astronomy": ("stargazer-weekly.example", "comet", "telescope", "nebula", "eclipse", "meteor", "orbit"),
    "Markets": ("ledger-daily.example", "bonds", "shares", "copper", "wheat", "futures", "savings"),
    "Gardening": ("allotment-news.example", "roses", "compost", "tomatoes", "hedges", "bulbs", "lawns"),
    "Rail": ("platform-post.example", "sleeper", "timetable", "signals", "viaduct", "tram", "depot"),
}


def topic_articles() -> list[dict[str, object]]:
    """Seven short articles per topic, each from the topic's own outlet (texts written for these tests)."""
    out: list[dict[str, object]] = []
    for n, (topic, (host, *words)) in enumerate(TOPICS.items()):
        for k, word in enumerate(words):
            out.append(
                {
                    "url": f"https://{host}/{word}",
                    "title": f"{topic} notes: the {word} question comes up again",
                    "text": f"A short report about {word} for readers who follow {topic.lower()}.\n\n"
                    f"Local people said the {word} matter would be discussed next week.",
                    "source": host,
                    "tags": [topic],
                    "published_at": f"2024-05-0{1 + (k % 3)}T{8 + n + k:02d}:00:00Z",
                }
            )
    return out


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with the seed plus 28 topic articles from four outlets."""
    folder = tmp_path_factory.mktemp("reading-state")
    (folder / "home").mkdir()
    seed = write_seed(folder, topic_articles())
    with serve(make_settings(folder / "home", [seed]), expect_articles=20) as url:
        yield url


@contextmanager
def reader(base: str, name: str, topics: list[str]) -> Iterator[httpx.Client]:
    """A signed-up, onboarded web reader."""
    with httpx.Client(base_url=base, timeout=60) as c:
        sign_up(c, name)
        token = csrf_of(c.get("/welcome").text)
        assert c.post("/welcome", data={"csrf": token, "topic": topics}).status_code == 303
        yield c


def ids_of(c: httpx.Client, title_part: str) -> list[int]:
    """Ids of the articles whose titles contain title_part (from the Latest page)."""
    html = c.get("/latest").text
    return [int(i) for i in re.findall(r'href="/articles/(\d+)">[^<]*' + re.escape(title_part), html)]


def card_ids(html: str) -> list[int]:
    """Article ids of the cards on a page."""
    return [int(i) for i in re.findall(r'data-article="(\d+)"', html)]


def feed_ids(base: str, token: str) -> list[int]:
    """The REST feed's article ids (as deep as it goes)."""
    resp = httpx.get(
        f"{base}/api/v1/feed", params={"limit": 200}, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    assert resp.status_code == 200, resp.text
    return [int(i["article_id"]) for i in resp.json()["items"]]


def api_token(c: httpx.Client) -> str:
    """A REST token for the signed-in reader, made through the REST API with the session cookie."""
    resp = c.post("/api/v1/tokens", json={"name": "tests"})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["token"])


def app_login(base: str, name: str) -> tuple[dict[str, str], str]:
    """A Google Reader login as an app does it: the auth header and the edit token."""
    resp = httpx.post(f"{base}/accounts/ClientLogin", data={"Email": name, "Passwd": PASSWORD}, timeout=60)
    assert resp.status_code == 200, resp.text
    auth = dict(line.split("=", 1) for line in resp.text.split())["Auth"]
    headers = {"Authorization": f"GoogleLogin auth={auth}"}
    token = httpx.get(f"{base}/reader/api/0/token", headers=headers, timeout=60).text.strip()
    return headers, token


def app_read(base: str, headers: dict[str, str], token: str, article_id: int) -> None:
    """Mark one item read through edit-tag, as an app does when its reader opens it."""
    body = urlencode([("i", str(article_id)), ("a", "user/-/state/com.google/read"), ("T", token)])
    resp = httpx.post(
        f"{base}/reader/api/0/edit-tag",
        content=body,
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text


def mean_rank(order: list[int], ids: list[int]) -> float:
    """The mean position of ids in a ranked list (missing ones count as just past its end)."""
    return sum(order.index(i) if i in order else len(order) for i in ids) / len(ids)


def test_five_app_reads_raise_the_topic_in_for_you(base: str) -> None:
    with reader(base, "ada", ["Rail"]) as c:
        token = api_token(c)
        astronomy = ids_of(c, "Astronomy notes")
        assert len(astronomy) == 6
        before = feed_ids(base, token)
        headers, edit = app_login(base, "ada")
        for article in astronomy[:5]:
            app_read(base, headers, edit, article)
        after = feed_ids(base, token)
        rest = astronomy[5:]
        assert mean_rank(after, rest) < mean_rank(before, rest)
        profile = httpx.get(
            f"{base}/api/v1/profile", headers={"Authorization": f"Bearer {token}"}, timeout=60
        ).json()
        assert profile["profile"]["counts"].get("read") == 5


def test_opened_article_leaves_for_you_and_never_rises(base: str) -> None:
    with reader(base, "bea", ["Gardening", "Markets"]) as c:
        cards = card_ids(c.get("/for-you").text)
        opened = cards[1]
        shown_before = card_ids(c.get("/for-you?read=1").text)
        assert c.get(f"/articles/{opened}").status_code == 200
        assert opened not in card_ids(c.get("/for-you").text)
        page = c.get("/for-you?read=1").text
        shown_after = card_ids(page)
        assert opened in shown_after and "is-read" in page
        assert shown_after.index(opened) >= shown_before.index(opened)
        # Mark all as read, then Undo: the same articles come back.
        token = csrf_of(page)
        done = c.post("/mark-read", data={"csrf": token, "scope": "for-you", "next": "/for-you"})
        assert done.status_code == 303 and "marked-all-read" in done.headers["location"]
        landing = c.get(done.headers["location"])
        assert card_ids(landing.text) == [] and "Undo mark as read" in landing.text
        code = re.search(r'name="undo" value="([^"]+)"', landing.text)
        assert code
        undone = c.post("/undo", data={"csrf": token, "undo": code.group(1), "next": "/for-you"})
        assert undone.status_code == 303
        back = card_ids(c.get("/for-you").text)
        assert set(cards) - {opened} <= set(back) and opened not in back


def test_hide_and_mute_offer_undo_and_saved_page_unsaves(base: str) -> None:
    with reader(base, "cyd", ["Gardening"]) as c:
        page = c.get("/for-you").text
        token, first = csrf_of(page), card_ids(page)[0]
        hid = c.post("/act", data={"csrf": token, "article_id": first, "action": "hide", "next": "/for-you"})
        landing = c.get(hid.headers["location"]).text
        assert first not in card_ids(landing) and "Undo hide" in landing
        c.post("/undo", data={"csrf": token, "undo": f"unhide:{first}", "next": "/for-you"})
        assert first in card_ids(c.get("/for-you").text)
        data = {
            "csrf": token,
            "article_id": first,
            "action": "mute_source",
            "source": "allotment-news.example",
        }
        muted = c.post("/act", data={**data, "next": "/for-you"})
        assert "Undo mute" in c.get(muted.headers["location"]).text
        c.post("/undo", data={"csrf": token, "undo": "unmute:source:allotment-news.example", "next": "/"})
        assert first in card_ids(c.get("/for-you").text)
        c.post("/act", data={"csrf": token, "article_id": first, "action": "save", "next": "/for-you"})
        saved = c.get("/saved").text
        assert f'href="/articles/{first}"' in saved and "Unsave" in saved
        c.post("/state", data={"csrf": token, "article_id": first, "action": "unsave", "next": "/saved"})
        assert f'href="/articles/{first}"' not in c.get("/saved").text
        assert (
            c.post("/state", data={"csrf": token, "article_id": 999999, "action": "save"}).status_code == 404
        )
        assert c.post("/state", data={"csrf": token, "article_id": first, "action": "x"}).status_code == 422
        assert c.post("/undo", data={"csrf": token, "undo": "read-all:yesterday"}).status_code == 422


def test_read_by_others_counts_other_readers_only(base: str) -> None:
    with reader(base, "dot", ["Markets"]) as dot, reader(base, "eve", ["Markets"]) as eve:
        target = ids_of(dot, "Markets notes")[0]
        for _ in range(3):  # views repeat; a reader counts once
            assert dot.get(f"/articles/{target}").status_code == 200
        eve_why = eve.get(f"/why/{target}").text
        assert "Read by 1 other reader" in eve_why
        dot_why = dot.get(f"/why/{target}").text
        assert "Already read" in dot_why or "You already read this" in dot_why
        assert all(n == "0" for n in re.findall(r"Read by (\d+) other reader", dot_why))  # never one's own
        eve.get(f"/articles/{target}")
        assert "Read by 1 other reader" in dot.get(f"/why/{target}").text
        assert "Read by 1 other reader" in eve.get(f"/why/{target}").text


def test_mark_read_names_a_feed_by_ascii_digits_only(base: str) -> None:
    with reader(base, "cai", ["Gardening"]) as c:
        token = csrf_of(c.get("/for-you").text)
        # "²" passes str.isdigit() but is no feed number: a clear 422, never a server error.
        for value in ("\u00b2", "x"):
            refused = c.post("/mark-read", data={"csrf": token, "scope": "feed", "value": value, "next": "/"})
            assert refused.status_code == 422 and "named by its number" in refused.text


def test_undo_codes_from_a_forged_form_get_a_clear_422(base: str) -> None:
    with reader(base, "dov", ["Gardening"]) as c:
        token = csrf_of(c.get("/for-you").text)
        # 500 digits fit the form but name no article (ids are int64): refused as such, not looked up (404).
        for code in ("unhide:" + "9" * 500, "unhide:\u00b2", "nope:1"):
            refused = c.post("/undo", data={"csrf": token, "undo": code, "next": "/"})
            assert refused.status_code == 422 and "Nothing to undo" in refused.text, code
