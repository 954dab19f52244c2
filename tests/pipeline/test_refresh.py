"""`tidings fetch` against real loopback servers: conditional GET, hangs, health and full-text upgrades."""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from sqlalchemy import select

from tests.ingest.conftest import LoopbackServer, loopback_settings, send_bytes
from tests.ingest.conftest import server as server  # the loopback server fixture
from tidings.pipeline.refresh import refresh_due
from tidings.pipeline.subscriptions import subscribe_url
from tidings.store import open_engine
from tidings.store import sources as source_repo
from tidings.store.tables import articles, sources

PARAGRAPH = (
    "The harbour authority said the new pier would let two ferries berth at once, cutting queues on "
    "summer weekends, and that work would finish before the tourist season. "
)


OTHER = (
    "Fishermen asked the council to keep the old slipway open during the building work, and a petition "
    "with four hundred names was handed in at the town hall on Tuesday afternoon. "
)


def feed_xml(base: str, teaser: bool = False) -> bytes:
    """A two-item RSS feed written for these tests."""
    bodies = {1: PARAGRAPH * 6, 2: OTHER * 6}
    items = "".join(
        f"<item><title>Pier works, part {i}</title><link>{base}/story/{i}</link>"
        f"<pubDate>Mon, 0{i} Apr 2024 10:00:00 GMT</pubDate>"
        f"<description>{'Short teaser.' if teaser else bodies[i]} ({i})</description></item>"
        for i in (1, 2)
    )
    channel = f"<channel><title>Harbour News</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


def test_not_modified_creates_no_rows(tmp_path: Path, server: LoopbackServer) -> None:
    settings = loopback_settings(home=tmp_path, enrich=False, fetch_full_text=False)
    engine = open_engine(settings)

    def rss(handler: BaseHTTPRequestHandler) -> None:
        if handler.headers.get("If-None-Match") == '"v1"':
            handler.send_response(304)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        send_bytes(handler, 200, feed_xml(server.url("")), headers={"ETag": '"v1"'})

    server.routes["/rss"] = rss
    source = subscribe_url(engine, server.url("/rss"))
    first = refresh_due(engine, settings)
    assert first["new"] == 2 and not first["errors"]
    with engine.begin() as conn:
        conn.execute(sources.update().values(next_due=None))
        count = conn.execute(select(articles.c.id)).all()
    second = refresh_due(engine, settings)
    assert second["new"] == 0 and second["feeds"] == 1
    with engine.connect() as conn:
        assert conn.execute(select(articles.c.id)).all() == count
        row = source_repo.get_source(conn, source["id"])
    assert row is not None and row["etag"] == '"v1"' and row["consecutive_failures"] == 0


def test_hanging_feed_ends_in_time_and_shows_error_and_next_due(
    tmp_path: Path, server: LoopbackServer
) -> None:
    settings = loopback_settings(
        home=tmp_path, enrich=False, read_timeout=1.0, total_timeout=1.5, max_retries=0
    )
    engine = open_engine(settings)

    def hang(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(6)

    server.routes["/slow"] = hang
    subscribe_url(engine, server.url("/slow"))
    started = time.perf_counter()
    result = refresh_due(engine, settings)
    assert time.perf_counter() - started < 4.5
    assert len(result["errors"]) == 1 and "\n" not in result["errors"][0]["error"]
    with engine.connect() as conn:
        listed = [source_repo.to_contract(r) for r in source_repo.list_sources(conn)]
    assert listed[0]["status"] == "error" and listed[0]["error"]
    assert listed[0]["next_due"] and listed[0]["next_due"] > listed[0]["last_fetched"]
    assert listed[0]["consecutive_failures"] == 1


def test_teaser_gets_full_text_or_waits_with_backoff(tmp_path: Path, server: LoopbackServer) -> None:
    settings = loopback_settings(home=tmp_path, enrich=False)
    engine = open_engine(settings)
    page = (
        "<html><head><title>Pier works, part 1</title></head><body><article><h1>Pier works, part 1</h1>"
        + "".join(f"<p>{PARAGRAPH}({n})</p>" for n in range(8))
        + "</article></body></html>"
    ).encode()
    server.routes["/rss"] = lambda h: send_bytes(h, 200, feed_xml(server.url(""), teaser=True))
    server.routes["/story/1"] = lambda h: send_bytes(h, 200, page, "text/html; charset=utf-8")
    server.routes["/story/2"] = lambda h: send_bytes(h, 503, b"busy", "text/plain")
    subscribe_url(engine, server.url("/rss"))
    result = refresh_due(engine, settings)
    assert result["new"] == 2 and result["full_text"] == 1
    with engine.connect() as conn:
        rows = {r.url.rsplit("/", 1)[-1]: r for r in conn.execute(select(articles)).all()}
    assert not rows["1"].is_teaser and "harbour authority" in rows["1"].text and len(rows["1"].text) > 600
    assert rows["2"].is_teaser and rows["2"].fulltext_attempts == 1 and rows["2"].fulltext_error
    assert rows["2"].fulltext_next_try > rows["2"].ingested_at
