"""Fetcher behaviour against real loopback HTTP servers."""

from __future__ import annotations

import gzip
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler

import brotli
import pytest

from tests.ingest.conftest import LoopbackServer, loopback_settings, send_bytes
from tidings.ingest.fetcher import (
    Fetcher,
    FetchError,
    FetchResult,
    decode_body,
    parse_max_age,
    parse_retry_after,
)

FEED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"


def test_plain_fetch_reports_metadata(server: LoopbackServer) -> None:
    headers = {
        "ETag": '"v1"',
        "Cache-Control": "public, max-age=600",
        "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT",
    }
    server.routes["/feed"] = lambda h: send_bytes(h, 200, FEED, "application/rss+xml; charset=utf-8", headers)
    with Fetcher(loopback_settings()) as fetcher:
        result = fetcher.fetch(server.url("/feed"))
    assert result.status == 200 and result.content == FEED and not result.not_modified
    assert result.etag == '"v1"' and result.last_modified == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert result.content_type == "application/rss+xml" and result.charset == "utf-8"
    assert result.max_age_seconds == 600
    assert result.headers["etag"] == '"v1"'
    sent = server.requests[-1][1]
    assert sent["user-agent"].startswith("Tidings/") and "br" in sent["accept-encoding"]


def _conditional(handler: BaseHTTPRequestHandler) -> None:
    if handler.headers.get("If-None-Match") == '"v1"' or handler.headers.get("If-Modified-Since"):
        handler.send_response(304)
        handler.send_header("ETag", '"v1"')
        handler.end_headers()
        return
    send_bytes(handler, 200, FEED, headers={"ETag": '"v1"'})


@pytest.mark.parametrize(("etag", "last_modified"), [('"v1"', None), (None, "Mon, 01 Jan 2024 00:00:00 GMT")])
def test_conditional_get_gives_not_modified(
    server: LoopbackServer, etag: str | None, last_modified: str | None
) -> None:
    server.routes["/feed"] = _conditional
    with Fetcher(loopback_settings()) as fetcher:
        result = fetcher.fetch(server.url("/feed"), etag=etag, last_modified=last_modified)
    assert result.not_modified and result.status == 304 and result.content == b""


def _hang(handler: BaseHTTPRequestHandler) -> None:
    time.sleep(6)


def _trickle(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/plain")
    handler.send_header("Content-Length", "100")
    handler.end_headers()
    for _ in range(100):
        handler.wfile.write(b"x")
        handler.wfile.flush()
        time.sleep(0.25)


def _trickle_then_stall(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", "100")
    handler.end_headers()
    for _ in range(5):
        handler.wfile.write(b"x")
        handler.wfile.flush()
        time.sleep(0.25)
    time.sleep(3)


@pytest.mark.parametrize("path", ["/hang", "/trickle", "/stall"])
def test_slow_servers_end_at_the_total_deadline(server: LoopbackServer, path: str) -> None:
    server.routes["/hang"] = _hang
    server.routes["/trickle"] = _trickle
    server.routes["/stall"] = _trickle_then_stall  # the last read must not outlive the deadline
    settings = loopback_settings(read_timeout=1.0, total_timeout=1.5, max_retries=0)
    started = time.monotonic()
    with Fetcher(settings) as fetcher, pytest.raises(FetchError) as info:
        fetcher.fetch(server.url(path))
    assert info.value.kind == "timeout"
    assert time.monotonic() - started < 1.9


def _huge(handler: BaseHTTPRequestHandler) -> None:
    # 50 MB streamed in 64 KiB chunks, no Content-Length: the limit must apply while streaming.
    handler.send_response(200)
    handler.send_header("Content-Type", "application/octet-stream")
    handler.send_header("Connection", "close")
    handler.end_headers()
    chunk = b"z" * 65536
    for _ in range(50 * 1024 * 1024 // len(chunk)):
        handler.wfile.write(chunk)


def test_huge_body_is_cut_at_the_limit(server: LoopbackServer) -> None:
    server.routes["/huge"] = _huge
    with Fetcher(loopback_settings(max_body_bytes=1024 * 1024)) as fetcher, pytest.raises(FetchError) as info:
        fetcher.fetch(server.url("/huge"))
    assert info.value.kind == "too_large"


def test_declared_length_over_limit_is_refused_before_reading(server: LoopbackServer) -> None:
    server.routes["/big"] = lambda h: send_bytes(h, 200, b"y" * 5000)
    with Fetcher(loopback_settings(max_body_bytes=1000)) as fetcher, pytest.raises(FetchError) as info:
        fetcher.fetch(server.url("/big"))
    assert info.value.kind == "too_large" and "1000" in str(info.value)


def _redirect(target: str) -> object:
    return lambda h: send_bytes(h, 302, b"", headers={"Location": target})


def test_redirect_loop_is_detected(server: LoopbackServer) -> None:
    server.routes["/a"] = _redirect("/b")  # type: ignore[assignment]
    server.routes["/b"] = _redirect("/a")  # type: ignore[assignment]
    with Fetcher(loopback_settings()) as fetcher, pytest.raises(FetchError) as info:
        fetcher.fetch(server.url("/a"))
    assert info.value.kind == "too_many_redirects" and "loop" in str(info.value)


def test_long_redirect_chain_stops_at_max_redirects(server: LoopbackServer) -> None:
    for i in range(10):
        server.routes[f"/r{i}"] = _redirect(f"/r{i + 1}")  # type: ignore[assignment]
    with Fetcher(loopback_settings(max_redirects=3)) as fetcher, pytest.raises(FetchError) as info:
        fetcher.fetch(server.url("/r0"))
    assert info.value.kind == "too_many_redirects"
    assert server.hits("/r5") == 0


def test_redirects_are_followed_to_the_final_url(server: LoopbackServer) -> None:
    server.routes["/old"] = _redirect(server.url("/new"))  # type: ignore[assignment]
    server.routes["/new"] = lambda h: send_bytes(h, 200, FEED)
    with Fetcher(loopback_settings()) as fetcher:
        result = fetcher.fetch(server.url("/old"))
    assert result.url == server.url("/new") and result.redirects == [server.url("/old")]


@pytest.mark.parametrize(("encoding", "compress"), [("gzip", gzip.compress), ("br", brotli.compress)])
def test_compressed_bodies_are_decoded(server: LoopbackServer, encoding: str, compress: object) -> None:
    body = FEED * 50
    packed = compress(body)  # type: ignore[operator]
    server.routes["/z"] = lambda h: send_bytes(h, 200, packed, headers={"Content-Encoding": encoding})
    with Fetcher(loopback_settings()) as fetcher:
        assert fetcher.fetch(server.url("/z")).content == body


def test_429_with_retry_after_is_retried(server: LoopbackServer) -> None:
    calls: list[float] = []

    def limited(handler: BaseHTTPRequestHandler) -> None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            send_bytes(handler, 429, b"slow down", headers={"Retry-After": "1"})
        else:
            send_bytes(handler, 200, FEED)

    server.routes["/limited"] = limited
    with Fetcher(loopback_settings()) as fetcher:
        assert fetcher.fetch(server.url("/limited")).status == 200
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.9


def test_long_retry_after_raises_instead_of_sleeping(server: LoopbackServer) -> None:
    server.routes["/busy"] = lambda h: send_bytes(h, 503, b"", headers={"Retry-After": "3600"})
    started = time.monotonic()
    with Fetcher(loopback_settings()) as fetcher, pytest.raises(FetchError) as info:
        fetcher.fetch(server.url("/busy"))
    assert info.value.kind == "http_status" and info.value.status == 503 and info.value.retry_after == 3600
    assert time.monotonic() - started < 1.0 and server.hits("/busy") == 1


def test_5xx_retries_then_fails_with_status(server: LoopbackServer) -> None:
    server.routes["/down"] = lambda h: send_bytes(h, 500, b"oops")
    with Fetcher(loopback_settings(max_retries=1)) as fetcher, pytest.raises(FetchError) as info:
        fetcher.fetch(server.url("/down"))
    assert info.value.status == 500 and server.hits("/down") == 2


def test_404_is_not_retried(server: LoopbackServer) -> None:
    with Fetcher(loopback_settings()) as fetcher, pytest.raises(FetchError) as info:
        fetcher.fetch(server.url("/missing"))
    assert info.value.kind == "http_status" and info.value.status == 404 and server.hits("/missing") == 1


def test_robots_disallow_is_respected(server: LoopbackServer) -> None:
    server.routes["/robots.txt"] = lambda h: send_bytes(
        h, 200, b"User-agent: *\nDisallow: /private\n", "text/plain"
    )
    server.routes["/private/feed"] = lambda h: send_bytes(h, 200, FEED)
    server.routes["/public/feed"] = lambda h: send_bytes(h, 200, FEED)
    with Fetcher(loopback_settings()) as fetcher:
        with pytest.raises(FetchError) as info:
            fetcher.fetch(server.url("/private/feed"))
        assert info.value.kind == "robots"
        assert fetcher.fetch(server.url("/public/feed")).status == 200
        assert fetcher.fetch(server.url("/private/feed"), check_robots=False).status == 200
    assert server.hits("/robots.txt") == 1  # cached per host


def test_missing_robots_allows_everything(server: LoopbackServer) -> None:
    server.routes["/feed"] = lambda h: send_bytes(h, 200, FEED)
    with Fetcher(loopback_settings()) as fetcher:
        assert fetcher.fetch(server.url("/feed")).status == 200
    assert server.hits("/robots.txt") == 1


def test_loopback_is_refused_by_default(server: LoopbackServer) -> None:
    server.routes["/feed"] = lambda h: send_bytes(h, 200, FEED)
    with (
        Fetcher(loopback_settings(allow_private_networks=False)) as fetcher,
        pytest.raises(FetchError) as info,
    ):
        fetcher.fetch(server.url("/feed"))
    assert info.value.kind == "private_address"
    assert "private address" in str(info.value) and "TIDINGS_ALLOW_PRIVATE_NETWORKS" in str(info.value)
    assert server.requests == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://h/", "not a url"])
def test_non_http_schemes_are_refused(url: str) -> None:
    with Fetcher(loopback_settings()) as fetcher, pytest.raises(FetchError) as info:
        fetcher.fetch(url)
    assert info.value.kind == "invalid_url"


def test_politeness_delay_spaces_requests_to_one_host(server: LoopbackServer) -> None:
    server.routes["/feed"] = lambda h: send_bytes(h, 200, FEED)
    with Fetcher(loopback_settings(politeness_delay=0.4, respect_robots=False)) as fetcher:
        started = time.monotonic()
        for _ in range(3):
            fetcher.fetch(server.url("/feed"))
        assert time.monotonic() - started >= 0.75


def test_per_host_concurrency_is_limited(server: LoopbackServer) -> None:
    active, peak = [0], [0]
    lock = threading.Lock()

    def slow(handler: BaseHTTPRequestHandler) -> None:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.2)
        with lock:
            active[0] -= 1
        send_bytes(handler, 200, FEED)

    server.routes["/slow"] = slow
    results: list[FetchResult] = []
    with Fetcher(loopback_settings(per_host_concurrency=2, respect_robots=False)) as fetcher:
        threads = [
            threading.Thread(target=lambda: results.append(fetcher.fetch(server.url("/slow"))))
            for _ in range(6)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(results) == 6 and peak[0] == 2


def test_decode_body_prefers_utf8_over_a_false_latin1_label(server: LoopbackServer) -> None:
    body = "Crónica de España".encode()
    server.routes["/page"] = lambda h: send_bytes(h, 200, body, "text/html; charset=ISO-8859-1")
    with Fetcher(loopback_settings()) as fetcher:
        result = fetcher.fetch(server.url("/page"))
    assert decode_body(result) == "Crónica de España"


def test_cache_headers_are_parsed() -> None:
    date = "Sat, 01 Jun 2024 12:00:00 GMT"
    assert parse_max_age({"cache-control": "public, s-maxage=10, max-age=300"}) == 300
    assert parse_max_age({"cache-control": "no-store"}) == 0
    assert parse_max_age({"expires": "Sat, 01 Jun 2024 13:00:00 GMT", "date": date}) == 3600
    assert parse_max_age({"expires": "0"}) == 0  # already stale
    assert parse_max_age({}) is None
    now = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Sat, 01 Jun 2024 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("\u00b2") is None  # str.isdigit() is true for "²", float() refuses it
    # A hostile server's endless digits count as RFC 9111's 2^31 seconds (int() refuses over 4,300 digits).
    assert parse_retry_after("9" * 5000) == 2.0**31
    assert parse_max_age({"cache-control": "max-age=" + "9" * 5000}) == 2**31
    assert parse_max_age({"expires": "9" * 5000}) == 2**31
