"""Item 4: a reader's titles and folders are their own; nobody can rename or move a shared source for
the others (REST POST /sources, OPML import through the API and the settings page)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.hostile.web_site import Site, User, live_site, make_user
from tests.live import csrf_of

pytestmark = pytest.mark.hostile
FEED = "https://harbour-gazette.example/feed.xml"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A server with two readers, alice and mallory."""
    with live_site(tmp_path_factory.mktemp("sources")) as live:
        live.extra["alice"] = make_user(live, "alice")
        live.extra["mallory"] = make_user(live, "mallory")
        yield live


def opml(url: str, title: str, folder: str) -> bytes:
    """A one-feed OPML document in a folder."""
    return (
        f'<?xml version="1.0"?><opml version="2.0"><body><outline text="{folder}">'
        f'<outline type="rss" text="{title}" title="{title}" xmlUrl="{url}"/></outline></body></opml>'
    ).encode()


def mine(site: Site, user: User, url: str) -> dict[str, Any]:
    """The user's own view of a subscription."""
    sources = httpx.get(f"{site.base}/api/v1/sources", headers=user.bearer()).json()
    return next(s for s in sources if s["url"] == url)


def reader_view(site: Site, user: User, url: str) -> dict[str, Any]:
    """The user's Google Reader view of a subscription."""
    reply = httpx.get(f"{site.base}/reader/api/0/subscription/list?output=json", headers=user.reader())
    return next(s for s in reply.json()["subscriptions"] if s["url"] == url)


def test_rest_retitle_changes_only_the_callers_subscription(site: Site) -> None:
    alice, mallory = site.extra["alice"], site.extra["mallory"]
    made = httpx.post(
        f"{site.base}/api/v1/sources", json={"url": FEED, "title": "Harbour news"}, headers=alice.bearer()
    )
    assert made.status_code == 201 and made.json()["title"] == "Harbour news"
    hostile = httpx.post(
        f"{site.base}/api/v1/sources", json={"url": FEED, "title": "PWNED"}, headers=mallory.bearer()
    )
    assert hostile.status_code == 201 and hostile.json()["title"] == "PWNED"
    assert mine(site, alice, FEED)["title"] == "Harbour news"
    assert reader_view(site, alice, FEED)["title"] == "Harbour news"
    assert mine(site, mallory, FEED)["title"] == "PWNED"


def test_opml_import_moves_only_the_importers_subscription(site: Site) -> None:
    alice, mallory = site.extra["alice"], site.extra["mallory"]
    url = "https://valley-courier.example/rss"
    headers = {**alice.bearer(), "Content-Type": "text/x-opml"}
    assert httpx.post(f"{site.base}/api/v1/opml", content=opml(url, "Courier", "Local"), headers=headers)
    evil = opml(url, "Evil title", "Evil folder")
    reply = httpx.post(
        f"{site.base}/api/v1/opml", content=evil, headers={**mallory.bearer(), "Content-Type": "text/x-opml"}
    )
    assert reply.status_code == 200 and reply.json()[0]["title"] == "Evil title"
    assert mine(site, alice, url)["title"] == "Courier" and mine(site, alice, url)["category"] == "Local"
    view = reader_view(site, alice, url)
    assert [c["label"] for c in view["categories"]] == ["Local"]
    assert mine(site, mallory, url)["category"] == "Evil folder"
    exported = httpx.get(f"{site.base}/api/v1/opml", headers=alice.bearer()).text
    assert "Evil" not in exported and "Courier" in exported


def test_settings_page_opml_upload_is_per_user_too(site: Site) -> None:
    alice, mallory = site.extra["alice"], site.extra["mallory"]
    url = "https://north-ledger.example/atom"
    httpx.post(
        f"{site.base}/api/v1/opml",
        content=opml(url, "Ledger", "Money"),
        headers={**alice.bearer(), "Content-Type": "text/x-opml"},
    )
    token = csrf_of(mallory.web.get("/settings").text)
    upload = mallory.web.post(
        "/settings/opml",
        data={"csrf": token},
        files={"file": ("x.opml", opml(url, "Ledger (hacked)", "Hacked"), "text/x-opml")},
    )
    assert upload.status_code == 303
    assert mine(site, alice, url)["title"] == "Ledger"
    assert mine(site, alice, url)["category"] == "Money"
    assert mine(site, mallory, url)["title"] == "Ledger (hacked)"


def test_a_new_readers_subscription_shows_the_feeds_own_title_not_a_strangers(site: Site) -> None:
    alice = site.extra["alice"]
    newcomer = make_user(site, "newcomer")
    reply = httpx.post(f"{site.base}/api/v1/sources", json={"url": FEED}, headers=newcomer.bearer())
    assert reply.status_code == 201
    assert reply.json()["title"] in (None, FEED)  # the feed names itself once fetched
    assert mine(site, alice, FEED)["title"] == "Harbour news"
