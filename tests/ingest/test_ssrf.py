"""The SSRF guard: address policy, URL checks, redirect hops and connect-time re-checks."""

from __future__ import annotations

import ipaddress

import pytest

from tests.ingest.conftest import LoopbackServer, loopback_settings, send_bytes
from tidings.ingest import ssrf
from tidings.ingest.fetcher import Fetcher, FetchError
from tidings.ingest.ssrf import blocked_reason, check_url_allowed


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.9", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),
        ("::ffff:127.0.0.1", "loopback"),
        ("fc00::1", "private"),
    ],
)
def test_non_public_addresses_are_blocked(address: str, reason: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::1111", "8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None


def _resolver(table: dict[str, list[str]]) -> ssrf.Resolver:
    return lambda host, port: table[host]


def test_host_resolving_to_any_private_address_is_refused() -> None:
    resolver = _resolver({"mixed.test": ["93.184.216.34", "10.0.0.5"]})
    with pytest.raises(FetchError) as info:
        check_url_allowed("https://mixed.test/feed", allow_private=False, resolver=resolver)
    assert info.value.kind == "private_address" and "mixed.test" in str(info.value)
    assert "10.0.0.5" not in str(info.value)  # the internal DNS answer is not revealed (issue 11, item 13)


def test_public_host_passes_and_allow_private_skips_resolution() -> None:
    check_url_allowed(
        "https://news.test/", allow_private=False, resolver=_resolver({"news.test": ["8.8.4.4"]})
    )
    check_url_allowed("http://127.0.0.1:9/", allow_private=True, resolver=_resolver({}))


def test_unresolvable_host_is_a_network_error() -> None:
    def failing(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(FetchError) as info:
        check_url_allowed("https://nowhere.invalid/", allow_private=False, resolver=failing)
    assert info.value.kind == "network" and "nowhere.invalid" in str(info.value)


def test_redirect_to_a_private_address_is_refused(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pretend 127.0.0.1 is public so the first hop connects, while 127.0.0.2 keeps the real policy.
    real = ssrf.blocked_reason
    monkeypatch.setattr(ssrf, "blocked_reason", lambda a: None if str(a) == "127.0.0.1" else real(a))
    target = f"http://127.0.0.2:{server.port}/internal"
    server.routes["/start"] = lambda h: send_bytes(h, 302, b"", headers={"Location": target})
    server.routes["/internal"] = lambda h: send_bytes(h, 200, b"secret")
    settings = loopback_settings(allow_private_networks=False, respect_robots=False)
    with Fetcher(settings) as fetcher, pytest.raises(FetchError) as info:
        fetcher.fetch(server.url("/start"))
    assert info.value.kind == "private_address" and "127.0.0.2" in str(info.value)
    assert server.hits("/start") == 1 and server.hits("/internal") == 0


def test_dns_rebinding_is_caught_at_connect_time() -> None:
    # The first lookup (the URL check) sees a public address, the second (the connect) a private one.
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])

    def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    settings = loopback_settings(allow_private_networks=False, respect_robots=False, max_retries=0)
    with Fetcher(settings, resolver=rebinding) as fetcher, pytest.raises(FetchError) as info:
        fetcher.fetch("http://rebind.test/feed")
    assert info.value.kind == "private_address"
