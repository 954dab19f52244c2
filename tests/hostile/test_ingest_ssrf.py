"""SSRF in every notation: no request reaches a non-public address, and refusals reveal no DNS answers."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from tests.ingest.conftest import LoopbackServer, loopback_settings, send_bytes
from tidings.ingest import ssrf
from tidings.ingest.fetcher import Fetcher, FetchError
from tidings.ingest.ssrf import blocked_reason, check_url_allowed
from tidings.pipeline.ingest import ingest_sources
from tidings.store import open_engine

pytestmark = pytest.mark.hostile

NON_GLOBAL = [
    "127.0.0.1",
    "127.255.255.254",
    "10.0.0.1",
    "172.31.255.255",
    "192.168.0.1",
    "169.254.169.254",
    "100.64.0.1",
    "100.100.100.200",
    "0.0.0.0",
    "0.1.2.3",
    "192.0.0.8",
    "192.0.0.9",
    "192.0.0.170",
    "192.0.2.1",
    "192.88.99.1",
    "198.18.0.1",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.251",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "::127.0.0.1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:0:7f00:1",
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b::c000:8",
    "64:ff9b:1::a00:1",
    "2002:7f00:1::",
    "2002:a00:1::1",
    "2002:c0a8:101::1",
    "2002:a9fe:a9fe::",
    "2001:0:4136:e378:8000:63bf:80ff:fffe",
    "2001::1",
    "2001:db8::1",
    "3fff::1",
    "fc00::1",
    "fd00:ec2::254",
    "fe80::1",
    "fec0::1",
    "ff02::1",
    "100::1",
]


@pytest.mark.parametrize("address", NON_GLOBAL)
def test_non_global_address_is_refused(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"],
)
def test_global_addresses_and_their_embeddings_pass(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None


# Every way of writing "this machine" in a URL; each must be refused before any request is made.
LOOPBACK_URLS = [
    "http://127.0.0.1:{port}/",
    "http://2130706433:{port}/",
    "http://0x7f000001:{port}/",
    "http://017700000001:{port}/",
    "http://0177.0.0.1:{port}/",
    "http://0x7f.0x0.0x0.0x1:{port}/",
    "http://127.1:{port}/",
    "http://127.0.1:{port}/",
    "http://0:{port}/",
    "http://0.0.0.0:{port}/",
    "http://localhost:{port}/",
    "http://LOCALHOST.:{port}/",
    "http://[::1]:{port}/",
    "http://[::]:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://[::ffff:7f00:1]:{port}/",
    "http://[0:0:0:0:0:ffff:127.0.0.1]:{port}/",
    "http://[2002:7f00:1::]:{port}/",
    "http://[64:ff9b::127.0.0.1]:{port}/",
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{port}/",
    "http://user:pass@127.0.0.1:{port}/",
    "http://news.example@127.0.0.1:{port}/",
    "http://127.0.0.1:{port}#@news.example/",
    "http://127.0.0.1:{port}?@news.example/",
    "HTTP://127.0.0.1:{port}/",
    "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11:{port}/",
]


@pytest.mark.parametrize("template", LOOPBACK_URLS)
def test_every_loopback_notation_is_refused_without_a_request(server: LoopbackServer, template: str) -> None:
    server.routes["/"] = lambda h: send_bytes(h, 200, b"secret", "text/plain")
    settings = loopback_settings(allow_private_networks=False, respect_robots=False, max_retries=0)
    with Fetcher(settings) as fetcher, pytest.raises(FetchError):
        fetcher.fetch(template.format(port=server.port))
    assert server.requests == []


REDIRECT_TARGETS = [
    "http://127.0.0.2:{port}/internal",
    "http://2130706434:{port}/internal",
    "http://[::ffff:127.0.0.2]:{port}/internal",
    "http://[2002:7f00:2::]:{port}/internal",
    "http://[::1]:{port}/internal",
    "http://169.254.169.254/latest/meta-data/",
    "file:///etc/passwd",
    "gopher://127.0.0.2:{port}/_internal",
]


@pytest.mark.parametrize("target", REDIRECT_TARGETS)
def test_redirect_to_internal_notation_is_refused(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    # 127.0.0.1 plays a public server; every other loopback form keeps the real policy.
    real = ssrf.blocked_reason
    monkeypatch.setattr(ssrf, "blocked_reason", lambda a: None if str(a) == "127.0.0.1" else real(a))
    location = target.format(port=server.port)
    server.routes["/start"] = lambda h: send_bytes(h, 302, b"", headers={"Location": location})
    server.routes["/internal"] = lambda h: send_bytes(h, 200, b"secret")
    settings = loopback_settings(allow_private_networks=False, respect_robots=False, max_retries=0)
    with Fetcher(settings) as fetcher, pytest.raises(FetchError):
        fetcher.fetch(server.url("/start"))
    assert server.hits("/internal") == 0


@pytest.mark.parametrize(
    "answers",
    [["10.1.2.3"], ["93.184.216.34", "192.168.7.7"], ["fd12:3456::1"], ["2002:a00:1::1"], ["192.0.0.8"]],
)
def test_refusal_does_not_reveal_internal_dns_answers(answers: list[str]) -> None:
    with pytest.raises(FetchError) as info:
        check_url_allowed("https://intranet.test/feed", allow_private=False, resolver=lambda h, p: answers)
    message = str(info.value)
    assert "intranet.test" in message
    assert not any(answer in message for answer in answers if answer != "93.184.216.34")


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "ftp://127.0.0.1/",
        "gopher://127.0.0.1:25/",
        "dict://127.0.0.1:11211/",
        "data:text/plain,hi",
        "http:///nohost",
        "//127.0.0.1/",
    ],
)
def test_non_http_urls_are_refused(url: str) -> None:
    with pytest.raises(FetchError) as info:
        check_url_allowed(url, allow_private=False)
    assert info.value.kind == "invalid_url"


def test_opml_import_refuses_javascript_and_internal_feed_urls(tmp_path: Path) -> None:
    opml = (
        '<opml version="2.0"><body>'
        '<outline text="Script" xmlUrl="javascript:alert(1)"/>'
        '<outline text="File" xmlUrl="file:///etc/passwd"/>'
        '<outline text="Data" xmlUrl="data:application/rss+xml,&lt;rss/&gt;"/>'
        '<outline text="Good" xmlUrl="https://news.example/feed" htmlUrl="javascript:alert(2)"/>'
        "</body></opml>"
    )
    path = tmp_path / "subs.opml"
    path.write_text(opml)
    settings = loopback_settings(home=tmp_path / "home", enrich=False, subscribe_starter=False)
    report = ingest_sources([str(path)], settings, open_engine(settings))
    assert [s["url"] for s in report.subscribed] == ["https://news.example/feed"]
    assert len(report.errors) == 3 and all("not an http(s) URL" in e["error"] for e in report.errors)
