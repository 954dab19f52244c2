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

Resolver = Callable[[str, int], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def blocked_reason(address: IPAddress) -> str | None:
    """Why an address must not be fetched ("loopback", "private", ...), or None for a public address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    checks = (
        (address in METADATA_ADDRESSES, "cloud metadata"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address.is_unspecified, "unspecified"),
        (address.is_reserved, "reserved"),
        (address.is_private, "private"),
        (not address.is_global, "non-public"),
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
        shown = address if address == host else f"{host} ({address})"
        message = f"refused: {shown} is a private address ({reason}; {ALLOW_HINT})"
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
