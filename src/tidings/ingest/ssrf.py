"""SSRF guard: refuse non-http(s) URLs and hosts that resolve to private, loopback or metadata addresses."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpcore

from tidings.ingest.errors import FetchError
from tidings.ingest.urls import is_http_url

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2")
)
ALLOW_HINT = "set TIDINGS_ALLOW_PRIVATE_NETWORKS=1 to allow"
# IANA special-purpose ranges that are not globally reachable, beyond what this Python's is_global knows
# (3.11 still calls 192.0.0.8 or fec0::1 global).
NON_GLOBAL = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "100.64.0.0/10",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "240.0.0.0/4",
        "2001::/23",
        "2001:db8::/32",
        "3fff::/20",
        "5f00::/16",
    )
)
GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
# IPv6 forms that carry an IPv4 address the packet ends up at: NAT64 (well-known and local), IPv4-compatible
# and SIIT-translated addresses; 6to4 and Teredo are read with the ipaddress helpers.
TRANSLATED_V6 = tuple(
    ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "::/96", "::ffff:0:0:0/96")
)

Resolver = Callable[[str, int], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for (mapped, NAT64, 6to4, Teredo, ...), or []."""
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)
    if any(address in net for net in TRANSLATED_V6):
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    return []


def blocked_reason(address: IPAddress) -> str | None:
    """Why an address must not be fetched ("loopback", "private", ...), or None for a public address.

    Only globally reachable unicast addresses pass; an IPv6 address that embeds an IPv4 address (mapped,
    NAT64, 6to4, Teredo) passes only when that IPv4 address would.
    """
    if isinstance(address, ipaddress.IPv6Address) and not (address.is_loopback or address.is_unspecified):
        reasons = [r for r in map(blocked_reason, embedded_ipv4(address)) if r]
        if reasons:
            return reasons[0]
        if address.ipv4_mapped is not None or address in TRANSLATED_V6[0]:
            return None  # a mapped or well-known NAT64 form of a public IPv4 address reaches that address
    checks = (
        (address in METADATA_ADDRESSES, "cloud metadata"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address.is_unspecified, "unspecified"),
        (address.is_reserved, "reserved"),
        (address.is_private, "private"),
        (not address.is_global, "non-public"),
        (any(address in net for net in NON_GLOBAL if net.version == address.version), "non-public"),
        (address.version == 6 and address not in GLOBAL_UNICAST_V6, "non-public"),
    )
    return next((reason for hit, reason in checks if hit), None)


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (the system resolver)."""
    infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_address(url: str, host: str, address: str) -> None:
    """Raise FetchError(private_address) when `address` is not a public unicast address."""
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError as exc:
        raise FetchError("invalid_url", f"refused: {address!r} is not an IP address", url=url) from exc
    reason = blocked_reason(parsed)
    if reason is not None:
        # Name the host the user gave, never what it resolved to: DNS answers for internal names are secrets.
        if address.strip("[]") == host.strip("[]"):
            message = f"refused: {host} is a private address ({reason}; {ALLOW_HINT})"
        else:
            message = f"refused: {host} resolves to a private address ({ALLOW_HINT})"
        raise FetchError("private_address", message, url=url)


def check_url_allowed(url: str, *, allow_private: bool, resolver: Resolver = resolve_host) -> None:
    """Raise FetchError unless `url` is http(s) and (unless allowed) every address of its host is public."""
    if not is_http_url(url):
        raise FetchError("invalid_url", f"refused: {url!r} is not an http(s) URL", url=url)
    if allow_private:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    for address in _resolve(url, host, port, resolver):
        check_address(url, host, address)


def _resolve(url: str, host: str, port: int, resolver: Resolver) -> list[str]:
    try:
        addresses = resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise FetchError("network", f"cannot resolve {host}: {exc}", url=url) from exc
    if not addresses:
        raise FetchError("network", f"cannot resolve {host}: no addresses", url=url)
    return addresses


class GuardedBackend(httpcore.SyncBackend):
    """Connects only to checked addresses, so DNS rebinding between check and connect cannot reach inside."""

    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        """Resolve, refuse non-public addresses, then connect to the first one that answers."""
        url = f"tcp://{host}:{port}"
        addresses = _resolve(url, host, port, self._resolver)
        for address in addresses:
            check_address(url, host, address)
        last_error: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error
