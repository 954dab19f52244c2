"""XSS payloads in every feed and page field: stored HTML is sanitised, and text fields stay inert text."""

from __future__ import annotations

import json
from pathlib import Path

import lxml.html
import pytest

from tests.hostile.corpus import FILLER, ingest_bytes, xml_escape
from tidings.ingest.urls import safe_http_url
from tidings.web.compat.common import item_html

pytestmark = pytest.mark.hostile

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><circle/></svg>",
    '<iframe src="javascript:alert(1)"></iframe>',
    '<a href="javascript:alert(1)">click</a>',
    '<a href="&#106;avascript:alert(1)">entity</a>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    '<object data="data:text/html,<script>alert(1)</script>"></object>',
    "<style>@import 'https://evil.example/x.css';</style>",
    '<div style="background:url(javascript:alert(1))">styled</div>',
    "<form action=javascript:alert(1)><button>go</button></form>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:/">',
    '"><script>alert(1)</script>',
    "<details open ontoggle=alert(1)>d</details>",
    "<template><script>alert(1)</script></template>",
    '<img src="https://tracker.example/p.gif" width="1" height="1">',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">b64</a>',
    "<embed src=javascript:alert(1)>",
]
IDS = [f"x{i}" for i in range(len(PAYLOADS))]
BAD_ELEMENTS = {"script", "iframe", "object", "embed", "style", "svg", "math", "form", "meta", "base", "link"}
BAD_ELEMENTS |= {"template", "noscript", "frame", "frameset", "applet"}


def dangerous_markup(fragment: str) -> list[str]:
    """Executable or tracking markup in an HTML fragment: bad elements, on* and style attributes, bad URLs."""
    if not fragment.strip():
        return []
    found = []
    for el in lxml.html.fragment_fromstring(fragment, create_parent="div").iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag.lower() in BAD_ELEMENTS:
            found.append(el.tag)
        for name, value in el.attrib.items():
            if name.lower().startswith("on") or name.lower() in ("style", "srcdoc", "formaction"):
                found.append(f"{el.tag}@{name}")
            if name.lower() in ("href", "src", "action", "poster", "data") and not safe_http_url(value):
                found.append(f"{el.tag}@{name}={value[:40]}")
            if "tracker.example" in value:
                found.append(f"{el.tag}@{name}: tracking pixel")
    return found


def rss(p: str) -> tuple[str, bytes]:
    """The payload in every RSS field: title, link text, description, author, category."""
    e = xml_escape(p)
    item = (
        f"<item><title>{e} Ferry</title><link>https://xss.example/rss</link><author>{e}</author>"
        f"<category>{e}</category><description>{xml_escape(f'<p>{FILLER}</p>{p}')}</description></item>"
    )
    return (
        "feed.xml",
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{e}</title>{item}</channel></rss>'.encode(),
    )


def atom(p: str) -> tuple[str, bytes]:
    """The payload in Atom html title, summary, content and author."""
    e = xml_escape(p)
    entry = (
        f'<entry><title type="html">{e} Ferry</title><link href="https://xss.example/atom"/><id>urn:x</id>'
        f"<updated>2024-05-01T10:00:00Z</updated><author><name>{e}</name></author>"
        f'<summary type="html">{e}</summary>'
        f'<content type="html">{xml_escape(f"<p>{FILLER}</p>{p}")}</content>'
        f'<category term="{e}"/></entry>'
    )
    return (
        "feed.atom",
        f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>{e}</title>{entry}</feed>'.encode(),
    )


def json_feed(p: str) -> tuple[str, bytes]:
    """The payload in every JSON Feed string field."""
    item = {
        "id": "1",
        "url": "https://xss.example/json",
        "title": f"{p} Ferry",
        "content_html": f"<p>{FILLER}</p>{p}",
        "summary": p,
        "authors": [{"name": p}],
        "tags": [p],
    }
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": p, "items": [item]}
    return "feed.json", json.dumps(doc).encode()


def jsonl(p: str) -> tuple[str, bytes]:
    """The payload in every JSONL field, html carrying it as markup."""
    record = {
        "url": "https://xss.example/jsonl",
        "title": f"{p} Ferry",
        "html": f"<p>{FILLER}</p>{p}",
        "byline": p,
        "source": p,
        "section": p,
        "tags": [p],
    }
    return "a.jsonl", (json.dumps(record) + "\n").encode()


def page(p: str) -> tuple[str, bytes]:
    """The payload in a page's title, meta tags, JSON-LD, byline and body."""
    e = xml_escape(p)
    ld = json.dumps({"@type": "NewsArticle", "headline": p, "author": {"name": p}}).replace("</", "<\\/")
    html = (
        f'<!doctype html><html><head><title>{e}</title><meta property="og:title" content="{e}">'
        f'<meta name="author" content="{e}"><script type="application/ld+json">{ld}</script></head>'
        f'<body><article><h1>{e}</h1><p class="byline">{e}</p><p>{FILLER}</p>{p}<p>{FILLER}</p></article>'
        "</body></html>"
    )
    return "page.html", html.encode()


CARRIERS = {"rss": rss, "atom": atom, "jsonfeed": json_feed, "jsonl": jsonl, "page": page}


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
@pytest.mark.parametrize("carrier", list(CARRIERS))
def test_xss_payload_is_neutralised(tmp_path: Path, carrier: str, payload: str) -> None:
    name, data = CARRIERS[carrier](payload)
    report, rows, _ = ingest_bytes(tmp_path, name, data)
    assert len(rows) == 1, report.errors
    row = rows[0]
    assert dangerous_markup(row["html"] or "") == []
    assert dangerous_markup(item_html(row)) == []  # what Google Reader and Fever clients receive
    for field in ("title", "byline", "source", "standfirst", "text"):
        value = row[field] or ""
        # Text fields are plain text: markup in them is either dropped or kept as inert characters that
        # every output escapes; it never arrives as an element in the sanitised HTML.
        assert isinstance(value, str) and "\x00" not in value
    assert all(isinstance(t, str) for t in row["tags"] or [])


@pytest.mark.parametrize("payload", PAYLOADS[:6], ids=IDS[:6])
def test_the_checker_itself_sees_raw_payloads(payload: str) -> None:
    assert (
        dangerous_markup(f"<p>x</p>{payload}") != []
    )  # so a sanitiser regression would fail the tests above
