"""Parser bombs: entity expansion, XXE, deep nesting and gzip bombs give one-line errors or safe text."""

from __future__ import annotations

import gzip
import json
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.hostile.corpus import FILLER, ingest_bytes
from tests.ingest.conftest import LoopbackServer, loopback_settings, send_bytes
from tidings.ingest.opml import OpmlError, parse_opml
from tidings.pipeline.ingest import ingest_sources
from tidings.pipeline.refresh import refresh_due
from tidings.pipeline.subscriptions import subscribe_url
from tidings.store import open_engine
from tidings.store.tables import sources

pytestmark = pytest.mark.hostile

LAUGHS = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
BILLION_LAUGHS_DTD = f'<!DOCTYPE rss [<!ENTITY lol0 "lol">{LAUGHS}]>'
QUADRATIC_DTD = f'<!DOCTYPE rss [<!ENTITY a "{"x" * 50_000}">]>'
XXE_DTD = '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
XXE_PARAM_DTD = '<!DOCTYPE rss [<!ENTITY % ext SYSTEM "http://127.0.0.1:9/evil.dtd"> %ext;]>'
EXTERNAL_DTD = '<!DOCTYPE rss SYSTEM "http://127.0.0.1:9/evil.dtd">'


def rss(dtd: str, title: str, body: str = FILLER) -> bytes:
    """An RSS document with a DTD and one item."""
    item = f"<item><title>{title}</title><link>https://x.example/1</link><description>{body}</description></item>"
    channel = f"<channel><title>T</title>{item}</channel>"
    return f'<?xml version="1.0"?>{dtd}<rss version="2.0">{channel}</rss>'.encode()


ENTITY_BOMBS = {
    "billion-laughs-title": rss(BILLION_LAUGHS_DTD, "&lol9;"),
    "billion-laughs-body": rss(BILLION_LAUGHS_DTD, "Laughs", "&lol9;"),
    "quadratic-blowup": rss(QUADRATIC_DTD, "Quad", "&a;" * 2000),
    "xxe-file-title": rss(XXE_DTD, "&xxe;"),
    "xxe-file-body": rss(XXE_DTD, "Xxe", "&xxe;"),
    "xxe-parameter-entity": rss(XXE_PARAM_DTD, "Param"),
    "external-dtd": rss(EXTERNAL_DTD, "Dtd"),
    "atom-billion-laughs": (
        f'<?xml version="1.0"?>{BILLION_LAUGHS_DTD.replace("rss", "feed")}'
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>&lol9;</title>'
        "<entry><title>&lol9;</title><id>urn:1</id><content>&lol9;</content></entry></feed>"
    ).encode(),
}


@pytest.mark.parametrize("name", list(ENTITY_BOMBS))
def test_entity_bombs_are_contained(tmp_path: Path, name: str) -> None:
    started = time.monotonic()
    report, rows, _ = ingest_bytes(tmp_path, "feed.xml", ENTITY_BOMBS[name])
    assert time.monotonic() - started < 30
    for row in rows:
        stored = f"{row['title']} {row['text']} {row['html']}"
        assert "root:" not in stored  # no local file content
        assert stored.count("lol") < 1000 and stored.count("x" * 1000) < 10  # no expansion
        assert len(stored) < 200_000
    assert rows or report.errors  # either a safe article or a clear error, never silence


OPML_BOMBS = {
    "opml-billion-laughs": f'<?xml version="1.0"?>{BILLION_LAUGHS_DTD.replace("rss", "opml")}'
    '<opml version="2.0"><body><outline text="&lol9;" xmlUrl="https://a.example/feed"/></body></opml>',
    "opml-xxe": f'<?xml version="1.0"?>{XXE_DTD.replace("rss", "opml")}'
    '<opml version="2.0"><body><outline text="&xxe;" xmlUrl="https://a.example/feed"/></body></opml>',
    "opml-deep": '<opml version="2.0"><body>'
    + "<outline text='f'>" * 5000
    + "</outline>" * 5000
    + "</body></opml>",
}


@pytest.mark.parametrize("name", list(OPML_BOMBS))
def test_opml_bombs_are_refused_or_contained(name: str) -> None:
    try:
        feeds = parse_opml(OPML_BOMBS[name].encode())
    except OpmlError as exc:
        assert "\n" not in str(exc)
        return
    for feed in feeds:
        assert "root:" not in (feed.title or "") and (feed.title or "").count("lol") < 1000


def deep_json(levels: int, opener: str = "[", closer: str = "]") -> str:
    """A JSON value nested `levels` deep."""
    return opener * levels + closer * levels


DEEP_FILES = {
    "jsonfeed-items-100k": (
        "feed.json",
        '{"version": "https://jsonfeed.org/version/1.1", "items": ' + deep_json(100_000) + "}",
    ),
    "jsonfeed-title-50k": (
        "feed.json",
        '{"version": "https://jsonfeed.org/version/1.1", "title": ' + deep_json(50_000) + ', "items": []}',
    ),
    "jsonfeed-objects-60k": (
        "feed.json",
        '{"version": "https://jsonfeed.org/version/1.1", "x": ' + '{"a":' * 60_000 + "1" + "}" * 60_000 + "}",
    ),
    "jsonl-line-100k": ("a.jsonl", deep_json(100_000) + "\n"),
    "jsonl-field-50k": (
        "a.jsonl",
        json.dumps({"url": "https://a.example/1", "title": "t", "text": "x"})[:-1]
        + ', "extra": '
        + deep_json(50_000)
        + "}\n",
    ),
}


@pytest.mark.parametrize("name", list(DEEP_FILES))
def test_deep_json_file_gives_one_line_error(tmp_path: Path, name: str) -> None:
    filename, content = DEEP_FILES[name]
    report, rows, _ = ingest_bytes(tmp_path, filename, content.encode())
    assert rows == []
    assert len(report.errors) == 1 and "deep" in report.errors[0]["error"]
    assert "\n" not in report.errors[0]["error"]


def test_deep_json_file_does_not_stop_the_next_file(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a-deep.jsonl").write_text(deep_json(100_000) + "\n")
    (folder / "b-good.jsonl").write_text(
        json.dumps({"url": "https://a.example/ok", "title": "Ok", "text": FILLER})
    )
    (folder / "c-deep.json").write_text(DEEP_FILES["jsonfeed-items-100k"][1])
    settings = loopback_settings(home=tmp_path / "home", enrich=False, subscribe_starter=False)
    report = ingest_sources([str(folder)], settings, open_engine(settings))
    assert [a["status"] for a in report.articles] == ["new"]
    assert len(report.errors) == 2


@pytest.mark.parametrize(
    "body",
    [
        '{"version": "https://jsonfeed.org/version/1.1", "items": ' + deep_json(100_000) + "}",
        deep_json(80_000, '{"a":', "}").replace("}", "1}", 1),
        '<?xml version="1.0"?><rss version="2.0"><channel>'
        + "<x>" * 50_000
        + "</x>" * 50_000
        + "</channel></rss>",
    ],
    ids=["remote-jsonfeed-100k", "remote-json-objects-80k", "remote-xml-50k"],
)
def test_remote_deep_feed_records_health_and_is_not_pending(
    tmp_path: Path, server: LoopbackServer, body: str
) -> None:
    settings = loopback_settings(home=tmp_path, enrich=False, subscribe_starter=False)
    engine = open_engine(settings)

    def route(handler: BaseHTTPRequestHandler) -> None:
        send_bytes(handler, 200, body.encode(), "application/feed+json")

    server.routes["/deep"] = route
    subscribe_url(engine, server.url("/deep"))
    result = refresh_due(engine, settings)
    assert result["feeds"] == 1 and len(result["errors"]) == 1
    with engine.connect() as conn:
        row = conn.execute(select(sources)).mappings().one()
    assert row["last_fetched"] is not None and row["next_due"] is not None  # not pending for ever
    assert row["consecutive_failures"] == 1 and row["last_error"]
    assert refresh_due(engine, settings)["feeds"] == 0  # backed off, not retried at once


def test_remote_deep_json_via_ingest_url(tmp_path: Path, server: LoopbackServer) -> None:
    body = '{"version": "https://jsonfeed.org/version/1.1", "items": ' + deep_json(100_000) + "}"

    def route(handler: BaseHTTPRequestHandler) -> None:
        send_bytes(handler, 200, body.encode(), "application/json")

    server.routes["/deep.json"] = route
    settings = loopback_settings(home=tmp_path, enrich=False, subscribe_starter=False)
    report = ingest_sources([server.url("/deep.json")], settings, open_engine(settings))
    assert report.articles == [] and len(report.errors) == 1


@pytest.mark.parametrize("levels", [5_000, 100_000])
def test_deeply_nested_html_page(tmp_path: Path, levels: int) -> None:
    body = f"{'<div>' * levels}<p>{FILLER}</p>{'</div>' * levels}"
    page = f"<html><head><title>Deep page</title></head><body>{body}</body></html>"
    started = time.monotonic()
    report, rows, _ = ingest_bytes(tmp_path, "deep.html", page.encode())
    assert time.monotonic() - started < 60
    assert len(rows) + len(report.errors) >= 1
    for row in rows:
        assert "<div><div><div><div>" not in row["html"]  # no markup bomb in the stored HTML


def test_deeply_nested_jsonld_is_ignored(tmp_path: Path) -> None:
    script = '<script type="application/ld+json">' + deep_json(100_000) + "</script>"
    body = f"<body><article><p>{FILLER}</p></article></body>"
    page = f"<html><head><title>Plain page</title>{script}</head>{body}</html>"
    report, rows, _ = ingest_bytes(tmp_path, "page.html", page.encode())
    assert [r["title"] for r in rows] == ["Plain page"], report.errors


@pytest.mark.parametrize(
    ("encoding", "size"),
    [("gzip", 200 * 1024 * 1024), ("gzip-nested", 50 * 1024 * 1024)],
)
def test_gzip_bomb_is_cut_at_the_body_limit(
    tmp_path: Path, server: LoopbackServer, encoding: str, size: int
) -> None:
    payload = gzip.compress(b"<rss>" + b" " * size, compresslevel=9)
    if encoding == "gzip-nested":
        payload = gzip.compress(payload)

    def route(handler: BaseHTTPRequestHandler) -> None:
        send_bytes(handler, 200, payload, "application/rss+xml", headers={"Content-Encoding": "gzip"})

    server.routes["/bomb"] = route
    settings = loopback_settings(
        home=tmp_path, enrich=False, subscribe_starter=False, max_body_bytes=1024 * 1024
    )
    engine = open_engine(settings)
    subscribe_url(engine, server.url("/bomb"))
    started = time.monotonic()
    result = refresh_due(engine, settings)
    assert time.monotonic() - started < 30
    assert result["new"] == 0 and len(result["errors"]) == 1
