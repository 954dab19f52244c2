"""Empty, binary and badly encoded inputs: clear one-line errors, or valid Unicode with nothing executable."""

from __future__ import annotations

import gzip
import random
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.hostile.corpus import FILLER, ingest_bytes
from tests.ingest.conftest import LoopbackServer, loopback_settings, send_bytes
from tidings.pipeline.ingest import ingest_sources
from tidings.store import open_engine

pytestmark = pytest.mark.hostile

RANDOM_BYTES = random.Random(11).randbytes(4096)

EMPTY_OR_BINARY = {
    "empty.txt": b"",
    "blank.txt": b" \n\t\r\n  ",
    "empty.html": b"",
    "empty.jsonl": b"",
    "bom-only.txt": b"\xef\xbb\xbf",
    "random.txt": RANDOM_BYTES,
    "random.html": RANDOM_BYTES,
    "random.xml": RANDOM_BYTES,
    "archive.txt": gzip.compress(FILLER.encode()),
    "image.html": b"\x89PNG\r\n\x1a\n" + RANDOM_BYTES,
    "doc.txt": b"%PDF-1.7\n" + RANDOM_BYTES,
    "program.txt": b"\x7fELF\x02\x01\x01" + RANDOM_BYTES,
    "db.txt": b"SQLite format 3\x00" + RANDOM_BYTES,
    "zip.xml": b"PK\x03\x04" + RANDOM_BYTES,
    "controls.txt": bytes(range(1, 9)) * 200 + b"text",
}


@pytest.mark.parametrize("name", list(EMPTY_OR_BINARY))
def test_empty_and_binary_files_are_errors_not_articles(tmp_path: Path, name: str) -> None:
    report, rows, _ = ingest_bytes(tmp_path, name, EMPTY_OR_BINARY[name])
    assert rows == []
    assert len(report.errors) == 1
    error = report.errors[0]["error"]
    assert ("empty" in error or "binary" in error) and "\n" not in error


REMOTE = {
    "empty-200": (b"", "text/html"),
    "octet-stream-text": (FILLER.encode(), "application/octet-stream"),
    "octet-stream-binary": (RANDOM_BYTES, "application/octet-stream"),
    "png": (b"\x89PNG\r\n\x1a\n" + RANDOM_BYTES, "image/png"),
    "binary-as-text": (RANDOM_BYTES, "text/plain"),
    "binary-as-html": (b"\x00" * 100 + RANDOM_BYTES, "text/html"),
    "pdf": (b"%PDF-1.7\n" + RANDOM_BYTES, "application/pdf"),
}


@pytest.mark.parametrize("name", list(REMOTE))
def test_empty_and_binary_bodies_are_errors(tmp_path: Path, server: LoopbackServer, name: str) -> None:
    body, content_type = REMOTE[name]

    def route(handler: BaseHTTPRequestHandler) -> None:
        send_bytes(handler, 200, body, content_type)

    server.routes["/thing"] = route
    settings = loopback_settings(home=tmp_path, enrich=False, subscribe_starter=False)
    report = ingest_sources([server.url("/thing")], settings, open_engine(settings))
    assert report.articles == []
    assert len(report.errors) == 1 and (
        "empty" in report.errors[0]["error"] or "binary" in report.errors[0]["error"]
    )


def rss(title: bytes, declared: bytes = b"utf-8") -> bytes:
    """An RSS feed whose item title is raw bytes, under a declared encoding."""
    item = b"<item><title>" + title + b"</title><link>https://enc.example/1</link><description>"
    item += FILLER.encode() + b"</description></item>"
    return (
        b'<?xml version="1.0" encoding="'
        + declared
        + b'"?><rss version="2.0"><channel><title>T</title>'
        + item
        + b"</channel></rss>"
    )


BAD_ENCODINGS = {
    "invalid-utf8-in-feed": ("feed.xml", rss(b"Caf\xe9 \xff\xfe opens")),
    "overlong-utf8-slash": ("feed.xml", rss(b"Over\xc0\xaflong")),
    "encoded-surrogate": ("feed.xml", rss(b"Sur\xed\xa0\x80rogate")),
    "lone-continuation": ("feed.xml", rss(b"Lone \x80\x81\x82 bytes")),
    "latin1-declared-utf8": ("feed.xml", rss("Gr\u00fc\u00dfe aus K\u00f6ln".encode("latin-1"))),
    "utf8-declared-latin1": ("feed.xml", rss("Gr\u00fc\u00dfe".encode(), b"iso-8859-1")),
    "unknown-charset": ("feed.xml", rss(b"Unknown charset", b"x-evil-charset")),
    "utf7-script": ("feed.xml", rss(b"+ADw-script+AD4-alert(1)+ADw-/script+AD4-", b"utf-7")),
    "utf16-declared-utf8": ("feed.xml", rss("Wide".encode("utf-16-le"))),
    "bidi-override-title": (
        "a.jsonl",
        (
            '{"url": "https://enc.example/2", "title": "Invoice \u202egpj.exe", "text": "' + FILLER + '"}\n'
        ).encode(),
    ),
    "zero-width-title": (
        "a.jsonl",
        (
            '{"url": "https://enc.example/3", "title": "Zero\u200b\u200dwidth\ufeff", "text": "'
            + FILLER
            + '"}\n'
        ).encode(),
    ),
    "invalid-utf8-text-file": ("note.txt", b"Harbour \xff\xfe news\n\n" + FILLER.encode()),
    "utf16-bom-text-file": ("note.txt", ("\ufeffHarbour news\n\n" + FILLER).encode("utf-16-le")),
    "utf7-html-meta": (
        "p.html",
        b'<html><head><meta charset="utf-7"><title>+ADw-script+AD4-alert(1)+ADw-/script+AD4-</title></head>'
        b"<body><p>" + FILLER.encode() + b"</p></body></html>",
    ),
    "conflicting-charsets-html": (
        "p.html",
        b'<html><head><meta charset="utf-8">'
        b'<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">'
        b"<title>\xc3\xa9t\xc3\xa9</title></head><body><p>" + FILLER.encode() + b"</p></body></html>",
    ),
    "invalid-utf8-jsonl": (
        "a.jsonl",
        b'{"url": "https://enc.example/4", "title": "Bad \xff", "text": "' + FILLER.encode() + b'"}\n',
    ),
}


@pytest.mark.parametrize("name", list(BAD_ENCODINGS))
def test_bad_encodings_give_valid_unicode_and_no_markup(tmp_path: Path, name: str) -> None:
    filename, data = BAD_ENCODINGS[name]
    report, rows, _ = ingest_bytes(tmp_path, filename, data)
    assert rows or report.errors
    for row in rows:
        for field in ("title", "text", "html", "byline"):
            value = row[field] or ""
            value.encode("utf-8")  # no lone surrogates: every stored string is valid Unicode
            assert "<script" not in value.lower() and "\x00" not in value
    for error in report.errors:
        assert "\n" not in error["error"]
