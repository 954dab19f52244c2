"""URL canonicalisation, scheme checks and <link rel=canonical>."""

from __future__ import annotations

import lxml.html
import pytest

from tidings.extract.metadata import find_canonical_url
from tidings.ingest.robots import is_allowed_by, parse_robots, robots_url_for
from tidings.ingest.urls import canonicalize_url, host_of, is_http_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "HTTPS://News.Example.COM:443/a/b?utm_source=x&b=2&a=1#frag",
            "https://news.example.com/a/b?a=1&b=2",
        ),
        ("http://example.com:80", "http://example.com/"),
        ("http://example.com:8080/x", "http://example.com:8080/x"),
        ("https://e.com/p?fbclid=1&gclid=2&mc_cid=3&_ga=4&spm=5&ref_src=6&igshid=7", "https://e.com/p"),
        ("https://e.com/p?", "https://e.com/p"),
        ("https://e.com/p?id=7&UTM_Medium=feed", "https://e.com/p?id=7"),
        ("https://[2001:DB8::1]:443/x", "https://[2001:db8::1]/x"),
        ("  https://e.com/search?q=a+b&page=2  ", "https://e.com/search?page=2&q=a+b"),
        # A superscript "port" passes str.isdigit but not int(): kept as written, never an exception.
        ("https://E.com:\u00b9\u00b9//x.example/1", "https://e.com:\u00b9\u00b9//x.example/1"),
    ],
)
def test_canonicalize_url(url: str, expected: str) -> None:
    assert canonicalize_url(url) == expected


def test_canonicalize_is_idempotent() -> None:
    once = canonicalize_url("https://E.com/a?z=1&utm_campaign=c&y=2#top")
    assert canonicalize_url(once) == once


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://e.com/", True),
        ("http://e.com", True),
        ("ftp://e.com/", False),
        ("/relative", False),
        ("http://", False),
        ("https://e.com:8443/x", True),
        ("https://e.com:\u00b9\u00b9/x", False),  # superscript digits: no client can connect there
        ("https://e.com:99999/x", False),
    ],
)
def test_is_http_url(url: str, expected: bool) -> None:
    assert is_http_url(url) is expected


def test_host_of() -> None:
    assert host_of("https://News.Example.com:8443/x") == "news.example.com"
    assert host_of("not a url") == ""


def canonical_of(html: str, url: str | None, values: dict[str, str] | None = None) -> str | None:
    """The canonical URL the production finder reads from a page."""
    return find_canonical_url(lxml.html.fromstring(html), values or {}, url)


def test_find_canonical_url_resolves_relative_hrefs() -> None:
    html = '<html><head><link rel="Canonical" href="/story/42"></head><body></body></html>'
    assert canonical_of(html, "https://site.example/amp/story/42?x=1") == "https://site.example/story/42"


def test_find_canonical_url_falls_back_to_og_url_then_the_page() -> None:
    og = {"og:url": "https://site.example/og"}
    assert (
        canonical_of("<html><head></head></html>", "https://site.example/p", og) == "https://site.example/og"
    )
    assert canonical_of("<html><head></head></html>", "https://site.example/p") == "https://site.example/p"


@pytest.mark.parametrize(
    "html",
    [
        "<html><head></head></html>",
        '<link rel="canonical" href="javascript:alert(1)">',
        '<link rel="canonical" href="  ">',
        '<link rel="canonical" href="http://[broken/">',
    ],
)
def test_find_canonical_url_missing_or_unusable(html: str) -> None:
    assert canonical_of(html, "https://site.example/") == "https://site.example/"
    assert canonical_of(html, None) is None


def test_robots_helpers() -> None:
    assert robots_url_for("https://Site.example:8443/a/b?c") == "https://site.example:8443/robots.txt"
    rules = parse_robots(b"User-agent: tidings\nDisallow: /\n\nUser-agent: *\nAllow: /\n")
    assert not is_allowed_by(rules, "Tidings/0.1 (+https://x)", "https://site.example/page")
    assert is_allowed_by(rules, "OtherBot/1.0", "https://site.example/page")
    assert is_allowed_by(parse_robots(None), "Tidings/0.1", "https://site.example/anything")
