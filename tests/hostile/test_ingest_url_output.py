"""Unsafe URLs already in the database (stored before the ingest check) are never served as links."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import update

from tests.web.test_fever import client_for
from tests.web.test_greader import PASSWORDS, Site, login, running_site
from tidings.store.tables import articles, sources

pytestmark = pytest.mark.hostile

BAD = "javascript:alert(document.domain)"
DATA = "data:text/html,<script>alert(1)</script>"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The running site with one article and one feed carrying unsafe URLs, as an old database might."""
    with running_site(tmp_path_factory.mktemp("url-output")) as live:
        with live.app.state.engine.begin() as conn:
            conn.execute(
                update(articles)
                .where(articles.c.id == live.article_ids["ferry"])
                .values(
                    url=BAD,
                    canonical_url=DATA,
                    lead_image=BAD,
                    related_links=[
                        {"title": "evil", "url": BAD},
                        {"title": "ok", "url": "https://ok.example/"},
                    ],
                )
            )
            conn.execute(
                update(sources).where(sources.c.id == live.source_ids["harbour.example"]).values(site_url=BAD)
            )
        yield live


def assert_no_unsafe(text: str) -> None:
    """Neither unsafe URL appears anywhere in a response body."""
    lowered = text.lower()
    assert "javascript:" not in lowered and "data:text/html" not in lowered


def test_web_article_page(site: Site) -> None:
    with httpx.Client(base_url=site.base, timeout=60) as reader:  # pages are for signed-in readers only
        signed_in = reader.post("/api/v1/session", json={"name": "alice", "password": PASSWORDS["alice"]})
        assert signed_in.status_code == 200
        resp = reader.get(f"/articles/{site.article_ids['ferry']}")
    assert resp.status_code == 200
    assert_no_unsafe(resp.text)
    assert 'href="https://ok.example/"' in resp.text  # the safe related link is still there


def test_rest_article(site: Site) -> None:
    from tidings.store.users import create_token

    with site.app.state.engine.begin() as conn:
        _, token = create_token(conn, site.user_ids["alice"], "hostile")
    resp = httpx.get(
        f"{site.base}/api/v1/articles/{site.article_ids['ferry']}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert resp.status_code == 200
    body = resp.json()
    assert body["url"] is None and body["canonical_url"] is None
    assert [link["url"] for link in body["related_links"]] == [None, "https://ok.example/"]
    assert_no_unsafe(resp.text)


def test_google_reader_items_and_subscriptions(site: Site) -> None:
    reader = login(site, "alice")
    contents = reader.get("stream/contents/user/-/state/com.google/reading-list", output="json", n=50)
    assert contents.status_code == 200
    ferry = next(i for i in contents.json()["items"] if i["title"].startswith("Night ferry"))
    assert ferry["alternate"][0]["href"] == "" and ferry["canonical"][0]["href"] == ""
    assert_no_unsafe(contents.text)
    subs = reader.get("subscription/list", output="json")
    assert subs.status_code == 200
    assert_no_unsafe(subs.text)


def test_fever_items_and_feeds(site: Site) -> None:
    fever = client_for("alice", site)
    items = fever.call("items", since_id=0)["items"]
    ferry = next(i for i in items if i["id"] == site.article_ids["ferry"])
    assert ferry["url"] == ""
    feeds = fever.call("feeds")["feeds"]
    harbour = next(f for f in feeds if f["id"] == site.source_ids["harbour.example"])
    # An unsafe website link falls back to the feed's own site, never to the javascript: URL.
    assert harbour["site_url"] == "https://harbour.example/"
