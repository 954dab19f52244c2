"""Lead images on the saved feeds in ../shared/data/feeds-2019-2023: stored per item, shown via the proxy."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.browser.test_ui_browser import PASSWORD
from tests.conftest import shared_path
from tests.live import make_settings, serve
from tidings.store import open_engine
from tidings.store.tables import articles

pytestmark = [pytest.mark.browser, pytest.mark.shared, pytest.mark.slow]
ITEM = re.compile(rb"<(item|entry)[\s>].*?</\1>", re.DOTALL)
LINK = re.compile(rb"<link>\s*(?:<!\[CDATA\[)?\s*([^<\]\s]+)")
IMAGE_MARKUP = re.compile(rb"<media:(?:content|thumbnail)|<enclosure[^>]+image/|<img|&lt;img", re.IGNORECASE)


@pytest.fixture(scope="module")
def feeds_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """A server seeded with the saved publisher feeds (no full-text fetching, no enrichment)."""
    folder = shared_path("data", "feeds-2019-2023")
    home = tmp_path_factory.mktemp("feeds") / "home"
    home.mkdir()
    settings = make_settings(home, [folder]).model_copy(update={"fetch_full_text": False})
    with serve(settings, expect_articles=600, timeout=300) as base:
        yield base, settings


def test_each_item_with_an_image_stores_that_items_image(feeds_site: tuple[str, Any]) -> None:
    _, settings = feeds_site
    engine = open_engine(settings)
    with engine.connect() as conn:
        stored = {str(u): i for u, i in conn.execute(select(articles.c.url, articles.c.lead_image))}
    engine.dispose()
    carrying = right = 0
    for feed in sorted(Path(shared_path("data", "feeds-2019-2023")).glob("*.xml")):
        for match in ITEM.finditer(feed.read_bytes()):
            chunk = html.unescape(match.group(0).decode("utf-8", "replace"))
            link = LINK.search(match.group(0))
            url = html.unescape(link.group(1).decode("utf-8", "replace")) if link else ""
            if url not in stored or not IMAGE_MARKUP.search(match.group(0)):
                continue  # no link we can match (or a duplicate stored under another URL), or no image
            carrying += 1
            image = stored[url]
            right += bool(image) and (image in chunk or html.unescape(image) in chunk)
    assert carrying > 300
    assert right / carrying >= 0.95, (right, carrying)


def test_no_image_points_off_site(browser: Any, feeds_site: tuple[str, Any]) -> None:
    base, _ = feeds_site
    context = browser.new_context(base_url=base, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto("/signup")
    page.get_by_label("User name").fill("pictures")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url("**/welcome")
    page.get_by_role("button", name="Continue to For you").click()
    page.wait_for_url("**/for-you")
    seen: list[str] = []
    first = page.locator(".card .card-link").first.get_attribute("href")
    for path in ("/for-you", "/latest", "/for-you?page=2", first or "/latest"):
        page.goto(path)
        seen += page.eval_on_selector_all("img", "els => els.map(e => e.getAttribute('src'))")
    assert len(seen) >= 20
    off_site = [s for s in seen if not (s.startswith("/img/") or s.startswith("data:"))]
    assert off_site == []
    context.close()
