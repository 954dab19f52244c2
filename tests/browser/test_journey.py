"""A new reader's journey on the offline demo corpus in headless Chromium.

Sign-up, onboarding, a full For you with working paging, no sideways scrolling at 390 px, axe clean, and a
signed-out home page that shows nothing."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.test_ui_browser import PASSWORD, serious_violations
from tests.conftest import shared_path
from tests.live import make_settings, serve

pytestmark = [pytest.mark.browser, pytest.mark.shared, pytest.mark.slow]
DEMO_SOURCES = ("Global Voices", "Wikinews")
PHONE = {"width": 390, "height": 844}
_names = itertools.count(1)
# The widest page wins: scrollWidth larger than the viewport means the page scrolls sideways.
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
SMALL_TARGETS = """() => Array.from(document.querySelectorAll(
 'a[href], button, input:not([type=hidden]), select, summary, label[for]')).filter(el => {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) return false;
  const style = getComputedStyle(el);
  if (style.opacity === '0') return false;  // a visually hidden box whose label is the target
  if (el.closest('.visually-hidden')) return false;  // for screen readers only: not a target
  if (el.tagName === 'LABEL') {  // a label is the target only when it stands in for a hidden box
    const box = document.getElementById(el.htmlFor);
    if (!box || getComputedStyle(box).opacity !== '0') return false;
  }
  if (style.display === 'inline' && el.tagName === 'A' && el.closest('p, li.meta, .meta, td')) return false;
  return r.width < 24 || r.height < 24;
}).map(el => el.tagName + ':' + (el.textContent || el.name || '').trim().slice(0, 30))"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with the default (private) settings, seeded with the demo corpus (publishers' tags as topics:
    enriching 666 articles takes minutes on a busy machine, and the feed's shape does not depend on it)."""
    names = ("globalvoices-2012-05", "wikinews-2005-04-05")
    seeds = [shared_path("data", "demo-corpus", name, "articles.jsonl") for name in names]
    home = tmp_path_factory.mktemp("journey") / "home"
    home.mkdir()
    with serve(make_settings(home, seeds), expect_articles=650, timeout=300) as base:
        yield base


@pytest.fixture
def phone(browser: Any, demo: str) -> Iterator[Any]:
    """A fresh phone-sized browser context on the demo site."""
    context = browser.new_context(base_url=demo, viewport=PHONE)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    context.close()


def sign_up_and_onboard(page: Any, sources: tuple[str, ...], topics: int = 1) -> str:
    """Sign up, follow `sources` and the first `topics` topics on onboarding, land on For you."""
    name = f"journey{next(_names)}"
    page.goto("/signup")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url("**/welcome")
    offered = page.locator('input[name="topic"]')
    picked = min(topics, offered.count())
    for k in range(picked):
        offered.nth(k).check(force=True)
    for source in sources:
        page.locator(f'input[name="source"][value="{source}"]').check(force=True)
    page.get_by_role("button", name="Continue to For you").click()
    page.wait_for_url("**/for-you")
    if picked < topics:  # no topics offered (nothing enriched): follow one from Settings
        page.goto("/settings#follows")
        page.locator("#follows-target").fill("topic:Politics")
        page.get_by_role("button", name="Follow", exact=True).click()
        page.wait_for_url("**/settings?note=followed#follows")
        page.goto("/for-you")
    return name


def card_ids(page: Any) -> list[str]:
    """The article ids of the cards on the page, in order."""
    return [str(x) for x in page.eval_on_selector_all(".card", "els => els.map(e => e.dataset.article)")]


def card_sources(page: Any) -> list[str]:
    """The source of each card on the page, in order."""
    return [str(x) for x in page.eval_on_selector_all(".card", "els => els.map(e => e.dataset.source)")]


def test_signed_out_home_shows_no_feed_url_or_error(phone: Any) -> None:
    phone.goto("/")
    assert "/login" in phone.url
    text = phone.locator("body").inner_text()
    assert phone.locator(".card").count() == 0
    assert "http://" not in text and "https://" not in text
    assert "error" not in text.lower() and "Feeds with errors" not in text
    assert phone.evaluate(OVERFLOW) <= 0
    assert serious_violations(phone) == []


def test_new_reader_gets_a_full_feed_and_working_pages(phone: Any) -> None:
    sign_up_and_onboard(phone, DEMO_SOURCES, topics=1)
    first = card_ids(phone)
    assert len(first) == 20 and len(set(first)) == 20
    sources = Counter(card_sources(phone))
    assert all(sources[s] > 0 for s in DEMO_SOURCES), sources  # both followed outlets, interleaved
    assert phone.get_by_role("link", name="More stories").count() == 1
    assert serious_violations(phone) == []
    phone.goto("/for-you?page=2")
    second = card_ids(phone)
    assert len(second) == 20 and not set(second) & set(first)
    phone.goto("/for-you")
    phone.locator(".pager").scroll_into_view_if_needed()  # infinite scroll loads page 2 in place
    phone.locator(".card").nth(39).wait_for()
    assert card_ids(phone)[20:40] == second


def test_no_page_scrolls_sideways_at_390px_and_axe_is_clean(phone: Any) -> None:
    sign_up_and_onboard(phone, DEMO_SOURCES, topics=1)
    article = card_ids(phone)[0]
    stories = phone.locator(".card a[href^='/stories/']")
    story = stories.first.get_attribute("href") if stories.count() else None
    phone.goto(f"/articles/{article}")
    topics = phone.locator("a[href^='/topics/']")
    topic = topics.first.get_attribute("href") if topics.count() else "/topics/Politics"
    paths = [
        "/for-you",
        "/for-you?page=2",
        f"/why/{article}",
        f"/articles/{article}",
        *([story] if story else []),
        *([topic] if topic else []),
        "/hidden",
        "/latest",
        "/search?q=election",
        "/search?q=Armenia+OR+Georgia",
        "/reading",
        "/settings",
        "/welcome",
    ]
    wide, small, axe = {}, {}, {}
    for path in paths:
        phone.goto(path)
        if (over := phone.evaluate(OVERFLOW)) > 0:
            wide[path] = over
        if tiny := phone.evaluate(SMALL_TARGETS):
            small[path] = tiny[:5]
        if violations := serious_violations(phone):
            axe[path] = violations
    assert wide == {} and small == {} and axe == {}


def test_signin_pages_fit_a_phone(phone: Any) -> None:
    for path in ("/login", "/signup"):
        phone.goto(path)
        assert phone.evaluate(OVERFLOW) <= 0, path
        assert phone.evaluate(SMALL_TARGETS) == [], path
