"""Unsafe URLs (javascript:, data:, vbscript:, file:, ...) in every URL field: only http(s) is stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.hostile.corpus import FILLER, ingest_bytes, unsafe_urls, xml_escape
from tidings.ingest.opml import parse_opml_checked
from tidings.ingest.urls import safe_http_url

pytestmark = pytest.mark.hostile

BAD_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    "  javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://files.example/a.txt",
    "javascript://comment%0Aalert(1)",
    # Found by the bounded fuzz run: an unclosed IPv6 bracket made urljoin raise and aborted the whole feed.
    "https://a[example/3",
    "http://[::1/x",
    # Found by the bounded fuzz run: a port of superscript digits passed str.isdigit, then int() raised.
    "https://a.example:\u00b9\u00b9//a.example/1",
]
IDS = [f"u{i}" for i in range(len(BAD_URLS))]


def rss_with_link(bad: str) -> bytes:
    """An RSS item whose <link> is the bad URL."""
    link = f"<link>{xml_escape(bad)}</link>"
    item = f"<item><title>Path reopens</title>{link}<description>{FILLER}</description></item>"
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{item}</channel></rss>'.encode()


def atom_with_link(bad: str) -> bytes:
    """An Atom entry whose alternate link is the bad URL."""
    entry = (
        f'<entry><title>Path reopens</title><link rel="alternate" href="{xml_escape(bad)}"/>'
        "<id>urn:x:1</id><updated>2024-05-01T10:00:00Z</updated>"
        f'<content type="html">{FILLER}</content></entry>'
    )
    return f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>{entry}</feed>'.encode()


def json_feed(key: str, bad: str) -> bytes:
    """A JSON Feed item whose `key` (url or external_url) is the bad URL."""
    item = {"id": "1", key: bad, "title": "Path reopens", "content_text": FILLER}
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": [item]}).encode()


def jsonl_line(bad: str) -> bytes:
    """A JSONL article whose url is the bad URL."""
    return (json.dumps({"url": bad, "title": "Path reopens", "text": FILLER}) + "\n").encode()


def page(head: str, body: str = "") -> bytes:
    """An HTML page with extra head markup and an article body."""
    return (
        f"<!doctype html><html><head><title>Path reopens</title>{head}</head><body><article>"
        f"<h1>Path reopens</h1><p>{FILLER}</p><p>{FILLER}</p>{body}</article></body></html>"
    ).encode()


CARRIERS = {
    "rss-link": ("feed.xml", rss_with_link),
    "atom-link": ("feed.atom", atom_with_link),
    "jsonfeed-url": ("feed.json", lambda b: json_feed("url", b)),
    "jsonfeed-external": ("feed.json", lambda b: json_feed("external_url", b)),
    "jsonl-url": ("a.jsonl", jsonl_line),
    "canonical": ("p.html", lambda b: page(f'<link rel="canonical" href="{xml_escape(b)}">')),
    "og-url": ("p.html", lambda b: page(f'<meta property="og:url" content="{xml_escape(b)}">')),
    "og-image": ("p.html", lambda b: page(f'<meta property="og:image" content="{xml_escape(b)}">')),
    "related-link": (
        "p.html",
        lambda b: page("", f'<p>Related: <a href="{xml_escape(b)}">Read more about the coast</a></p>'),
    ),
}


@pytest.mark.parametrize("bad", BAD_URLS, ids=IDS)
@pytest.mark.parametrize("carrier", list(CARRIERS))
def test_unsafe_url_is_never_stored(tmp_path: Path, carrier: str, bad: str) -> None:
    name, build = CARRIERS[carrier]
    report, rows, _ = ingest_bytes(tmp_path, name, build(bad))
    assert len(rows) == 1, report.errors  # the article itself is kept ...
    assert unsafe_urls(rows[0]) == []  # ... but never with a non-http(s) URL
    assert "javascript:" not in (rows[0]["html"] or "").lower()


@pytest.mark.parametrize("bad", BAD_URLS, ids=IDS)
def test_opml_refuses_non_http_feed_urls(bad: str) -> None:
    outline = f'<outline text="Evil" xmlUrl="{xml_escape(bad)}" htmlUrl="{xml_escape(bad)}"/>'
    good = '<outline text="Good" xmlUrl="https://news.example/feed" htmlUrl="javascript:alert(1)"/>'
    feeds, refused = parse_opml_checked(f'<opml version="2.0"><body>{outline}{good}</body></opml>'.encode())
    assert [f.url for f in feeds] == ["https://news.example/feed"] and feeds[0].html_url is None
    assert len(refused) == 1 and "not an http(s) URL" in refused[0]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://news.example/a?b=1", "https://news.example/a?b=1"),
        (" http://news.example/ ", "http://news.example/"),
        ("https://news.example/\x00", None),
        ("https://news.example/\x1b[31m", None),
        ("https://news.example/a\u0085b", None),
        ("http:///no-host", None),
        ("//news.example/protocol-relative", None),
        (None, None),
        (42, None),
    ],
)
def test_output_guard(url: object, expected: str | None) -> None:
    assert safe_http_url(url) == expected
