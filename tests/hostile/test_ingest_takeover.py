"""One source may not overwrite another's article: not by a tracking-param URL, nor by a foreign canonical."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from tests.ingest.conftest import LoopbackServer, loopback_settings, send_bytes
from tidings.config import Settings
from tidings.pipeline.ingest import ingest_sources
from tidings.pipeline.refresh import refresh_due
from tidings.pipeline.subscriptions import subscribe_url
from tidings.store import open_engine
from tidings.store.tables import articles, sources

pytestmark = pytest.mark.hostile

BODY = (
    "The river authority opened the new flood gates on Thursday, two months ahead of the plan, and said the "
    "town centre would be protected from a one-in-a-hundred-year flood from this winter onwards. "
)
FAKE = "Invented claims written by a hostile feed to replace the real article's text for every reader. " * 8


def rss(title: str, items: str) -> bytes:
    """A small RSS document written for these tests."""
    channel = f"<channel><title>{title}</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


def item(title: str, link: str, date: str, text: str) -> str:
    """One RSS item."""
    fields = f"<title>{title}</title><link>{link}</link><pubDate>{date}</pubDate>"
    return f"<item>{fields}<description>{text}</description></item>"


def serve(server: LoopbackServer, path: str, body: bytes, content_type: str = "application/rss+xml") -> None:
    """Answer `path` with a fixed body."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        send_bytes(handler, 200, body, content_type)

    server.routes[path] = route


def setup(tmp_path: Path, server: LoopbackServer) -> tuple[Engine, Settings, str]:
    """The real publisher's feed on 127.0.0.1 is fetched first; returns its article's URL."""
    settings = loopback_settings(home=tmp_path, enrich=False, fetch_full_text=False, subscribe_starter=False)
    engine = open_engine(settings)
    real_url = server.url("/news/flood-gates")
    teaser = "Flood gates open early."
    serve(
        server,
        "/real.rss",
        rss("Real News", item("Flood gates open early", real_url, "Mon, 01 Apr 2024 10:00:00 GMT", teaser)),
    )
    subscribe_url(engine, server.url("/real.rss"))
    assert refresh_due(engine, settings)["new"] == 1
    return engine, settings, real_url


def stored(engine: Engine) -> list[dict[str, object]]:
    """Every stored article with its source's URL."""
    with engine.connect() as conn:
        query = select(
            articles.c.url, articles.c.title, articles.c.source, articles.c.text, sources.c.url.label("feed")
        )
        rows = conn.execute(query.outerjoin(sources, sources.c.id == articles.c.source_id)).mappings().all()
    return [dict(r) for r in rows]


def test_tracking_param_variant_from_another_feed_does_not_update(
    tmp_path: Path, server: LoopbackServer
) -> None:
    engine, settings, real_url = setup(tmp_path, server)
    hostile_link = real_url + "?utm_source=x"
    hostile = rss(
        "Hostile Feed", item("HACKED headline", hostile_link, "Tue, 02 Apr 2024 10:00:00 GMT", FAKE)
    )
    # Another host name for the same loopback server: a different feed, run by someone else.
    serve(server, "/evil.rss", hostile)
    subscribe_url(engine, server.url("/evil.rss").replace("127.0.0.1", "localhost"))
    result = refresh_due(engine, settings)
    assert result["updated"] == 0 and result["new"] == 0
    rows = stored(engine)
    assert len(rows) == 1
    assert rows[0]["title"] == "Flood gates open early" and rows[0]["source"] == "Real News"
    assert rows[0]["feed"] == server.url("/real.rss") and "Invented" not in str(rows[0]["text"])


def test_same_feed_newer_version_still_updates(tmp_path: Path, server: LoopbackServer) -> None:
    engine, settings, real_url = setup(tmp_path, server)
    newer = item(
        "Flood gates open early, council confirms",
        real_url,
        "Tue, 02 Apr 2024 10:00:00 GMT",
        "Flood gates open early; the council confirmed the date.",
    )
    serve(server, "/real.rss", rss("Real News", newer))
    with engine.begin() as conn:
        conn.execute(sources.update().values(next_due=None, etag=None, last_modified=None))
    assert refresh_due(engine, settings)["updated"] == 1
    assert stored(engine)[0]["title"] == "Flood gates open early, council confirms"


def test_page_with_foreign_canonical_does_not_replace_article(tmp_path: Path, server: LoopbackServer) -> None:
    engine, settings, real_url = setup(tmp_path, server)
    page = (
        f'<html><head><title>HACKED page</title><link rel="canonical" href="{real_url}"></head>'
        f"<body><article><h1>HACKED page</h1><p>{FAKE}</p><p>{FAKE}</p></article></body></html>"
    ).encode()
    serve(server, "/evil-page", page, "text/html; charset=utf-8")
    evil_url = server.url("/evil-page").replace("127.0.0.1", "localhost")
    report = ingest_sources([evil_url], settings, engine)
    assert [a["status"] for a in report.articles] == ["new"], report.errors
    rows = {r["url"]: r for r in stored(engine)}
    assert rows[real_url]["title"] == "Flood gates open early" and "Invented" not in str(
        rows[real_url]["text"]
    )
    assert rows[evil_url]["title"] == "HACKED page"  # stored as its own article, under its own URL


def test_page_canonical_on_same_host_is_kept(tmp_path: Path, server: LoopbackServer) -> None:
    settings = loopback_settings(home=tmp_path, enrich=False, fetch_full_text=False, subscribe_starter=False)
    engine = open_engine(settings)
    page = (
        f'<html><head><title>Print view</title><link rel="canonical" href="/news/tide"></head>'
        f"<body><article><h1>Tide tables</h1><p>{BODY * 4}</p></article></body></html>"
    ).encode()
    serve(server, "/print/tide", page, "text/html; charset=utf-8")
    report = ingest_sources([server.url("/print/tide?utm_source=feed")], settings, engine)
    assert report.articles and not report.errors
    with engine.connect() as conn:
        assert conn.execute(select(articles.c.canonical_url)).scalar_one() == server.url("/news/tide")
